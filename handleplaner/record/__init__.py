from .models import RecordEntry
from .service import (SYSTEM, ChainBreak, RecordIsAppendOnly, append, append_many, as_dict, count,
                      entries, verify_chain)

__all__ = ["ChainBreak", "RecordEntry", "SYSTEM", "RecordIsAppendOnly", "append", "append_many", "as_dict",
           "count", "entries", "verify_chain"]
