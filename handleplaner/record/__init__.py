from .keys import SHREDDED, RecordKey, forget_record_personal_data
from .models import RecordEntry
from .service import (SYSTEM, ChainBreak, RecordIsAppendOnly, append, append_many, as_dict, count,
                      entries, personal, readable, shredded, verify_chain)

__all__ = ["ChainBreak", "RecordEntry", "RecordKey", "SHREDDED", "SYSTEM", "RecordIsAppendOnly",
           "append", "append_many", "as_dict", "count", "entries", "forget_record_personal_data",
           "personal", "readable", "shredded", "verify_chain"]
