from .models import RecordEntry
from .service import SYSTEM, RecordIsAppendOnly, append, as_dict, count, entries, verify_chain

__all__ = ["RecordEntry", "SYSTEM", "RecordIsAppendOnly", "append", "as_dict", "count", "entries",
           "verify_chain"]
