"""Each authority's commitments: one per measure, owned by the authority's responsible leader."""
