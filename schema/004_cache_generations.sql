-- The response cache's generations (core/server/cache.c): one random token per
-- municipality, replaced in the transaction of every successful write.  A
-- cached answer is served only while the token it was made under is still
-- the one here, so no host serves an answer older than an acknowledged
-- write.  A row appears with the municipality's first write.

CREATE TABLE cache_generations (
  municipality  VARCHAR(64) NOT NULL,
  token         BIGINT NOT NULL,
  PRIMARY KEY (municipality)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
