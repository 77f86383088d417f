-- Tokens with an end: `portalctl token create --expires 30d` (or a date)
-- sets expires_at (UTC, as every time in this database); from then on the
-- token is refused like a revoked one.  NULL: no end.
ALTER TABLE tokens ADD COLUMN expires_at DATETIME(3) NULL AFTER revoked_at;
