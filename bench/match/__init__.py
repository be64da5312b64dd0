"""Matching benchmarks: the matcher on the dev set, morphology candidates, story clustering."""
