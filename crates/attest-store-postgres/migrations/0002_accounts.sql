-- Version 2: the server's users, agent hosts, sessions and failed logins. Secrets are kept
-- only as hashes: passwords as argon2id PHC strings, agent tokens and session ids as SHA-256.
CREATE TABLE users (
    id            BIGINT  PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,     -- Unix seconds
    disabled      BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE hosts (
    id           BIGINT PRIMARY KEY,
    name         TEXT   NOT NULL UNIQUE,
    token_sha256 BYTEA  NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE sessions (
    id_sha256  BYTEA  PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE login_failures (
    key TEXT   NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (key, at);
CREATE INDEX login_failures_by_time ON login_failures (at);
