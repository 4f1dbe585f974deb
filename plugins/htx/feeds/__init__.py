"""Feeds: one configuration, one contract parser, one expectation suite and one merge SQL each."""
