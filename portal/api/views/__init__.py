"""REST views: parse, authorize, call one action (or one query), render the contract's records."""
