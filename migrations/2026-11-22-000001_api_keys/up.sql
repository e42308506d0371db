-- API keys. The secret is never stored: only its SHA-256 (secrets are 192 random bits, so a
-- fast hash is safe) and a short prefix to recognise a key in listings.
CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    scopes text[] NOT NULL CHECK (
        cardinality(scopes) > 0
        AND array_position(scopes, NULL) IS NULL
        AND scopes <@ ARRAY['read', 'import', 'admin']
    ),
    prefix text NOT NULL,
    secret_sha256 bytea NOT NULL UNIQUE CHECK (octet_length(secret_sha256) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    expires_at timestamptz
);

-- Listing is newest first with (created_at, id) cursors.
CREATE INDEX api_keys_created_at_id_idx ON api_keys (created_at DESC, id DESC);
