"""HTTP layer: handlers (thin), policies (who may), schemas (request/response shapes)."""
