"""Matching: normalisation, the rule language, the matcher and story clustering."""
