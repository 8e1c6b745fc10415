"""The fælles handleplan: templates, drafts, versions, approval, documents."""
