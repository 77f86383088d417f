-- Idempotency-Key on POST: the first answer to a (municipality, token,
-- key) is stored in the same transaction as the write it reports, so a
-- retried request gets that answer again instead of a second item.

CREATE TABLE idempotency_keys (
  municipality  VARCHAR(64) NOT NULL,
  token_id      BIGINT UNSIGNED NOT NULL,
  idem_key      VARCHAR(200) CHARACTER SET ascii NOT NULL,
  request_hash  CHAR(64) CHARACTER SET ascii NOT NULL,   -- SHA-256 of method, path and body
  status        SMALLINT UNSIGNED NOT NULL,
  location      VARCHAR(500) NULL,
  etag          VARCHAR(100) NULL,
  body          LONGTEXT NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (municipality, token_id, idem_key),
  KEY idempotency_age (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
