-- Uploaded files (core/items/media.c): one row per municipality and file.
-- The files themselves are in media.dir, named by the SHA-256 of the bytes
-- uploaded (the same bytes are stored once, whichever municipality sent
-- them); nginx serves them, portald never does.  What uses a file is in
-- `links` (to_module 'media').
CREATE TABLE media (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  municipality   VARCHAR(64) NOT NULL,
  sha256         CHAR(64) CHARACTER SET ascii NOT NULL,
  type           VARCHAR(64) CHARACTER SET ascii NOT NULL,  -- read from the bytes
  name           VARCHAR(255) NULL,                         -- the uploader's file name, if given
  bytes          BIGINT UNSIGNED NOT NULL,                  -- of the upload (the quota counts these)
  width          INT UNSIGNED NULL,
  height         INT UNSIGNED NULL,
  renditions     JSON NOT NULL,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY media_file (municipality, sha256),
  KEY media_sha (sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
