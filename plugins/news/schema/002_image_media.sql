-- An image is an uploaded file (image_media, an id of the core's `media`)
-- or, as before, an external URL; either way with its text alternative.
ALTER TABLE news
  ADD COLUMN image_media BIGINT UNSIGNED NULL AFTER image_alt,
  DROP CONSTRAINT news_image,
  ADD CONSTRAINT news_image_source CHECK ((image_alt IS NULL) = (image_url IS NULL AND image_media IS NULL));
