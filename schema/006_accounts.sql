-- Accounts for the browser (core/db/users.c): people who sign in with an
-- e-mail address and a password, their role in each municipality, their
-- sessions, and what login throttling counts.  API tokens stay in `tokens`.

CREATE TABLE users (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  email          VARCHAR(254) NOT NULL,          -- stored lower-case
  name           VARCHAR(200) NOT NULL,
  password_hash  VARCHAR(255) CHARACTER SET ascii NOT NULL, -- crypto_pwhash_str (Argon2id)
  disabled_at    DATETIME(3) NULL,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A user's role in a municipality (a slug, or '*' for all); one row per
-- municipality.
CREATE TABLE user_roles (
  user_id        BIGINT UNSIGNED NOT NULL,
  municipality   VARCHAR(64) NOT NULL,
  role           ENUM('reader','editor','admin') NOT NULL,
  PRIMARY KEY (user_id, municipality),
  KEY user_roles_muni (municipality),
  CONSTRAINT user_roles_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Browser sessions, shared by every portal host.  The id the browser holds
-- (32 random bytes) is never stored: only its SHA-256.  expires_at is the
-- absolute end; the idle end is last_seen + core.session_idle.
CREATE TABLE sessions (
  id_hash        CHAR(64) CHARACTER SET ascii NOT NULL,
  user_id        BIGINT UNSIGNED NOT NULL,
  csrf           CHAR(43) CHARACTER SET ascii NOT NULL,
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_seen      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at     DATETIME(3) NOT NULL,
  PRIMARY KEY (id_hash),
  KEY sessions_user (user_id),
  KEY sessions_expiry (expires_at),
  KEY sessions_seen (last_seen),
  CONSTRAINT sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Failed sign-ins: one row per failure, by account (the e-mail as typed,
-- lower-case) and by client address; counted over a window, purged after.
CREATE TABLE login_failures (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  email          VARCHAR(254) NOT NULL,
  address        VARCHAR(64) CHARACTER SET ascii NOT NULL,
  at             DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY login_failures_email (email, at),
  KEY login_failures_address (address, at),
  KEY login_failures_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who wrote: a browser write records its user (token_id is NULL then).
ALTER TABLE audit_log ADD COLUMN user_id BIGINT UNSIGNED NULL AFTER token_id;
