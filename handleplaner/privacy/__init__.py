"""Personal data in what is shared: the one check (``check``) and where it applies
(``sharing``)."""
