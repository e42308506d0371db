-- Secrets users give Medley (provider passwords, OAuth tokens, third-party API keys), encrypted
-- at rest by the vault (server/src/secrets/). Services keep a secret's id; only the vault reads
-- its value.
CREATE TABLE secrets (
    id UUID PRIMARY KEY,
    -- What the secret is for (e.g. "catalog.playlist.password"); bound into the ciphertext, so a
    -- sealed value copied to another row or purpose does not open.
    purpose TEXT NOT NULL,
    -- Id of the key that sealed it; `medley secrets rotate` moves rows to the current key.
    key_id TEXT NOT NULL,
    -- XChaCha20-Poly1305: the 24-byte nonce, then the ciphertext with its tag.
    sealed BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Rotation finds the rows sealed under other keys.
CREATE INDEX secrets_key_id ON secrets (key_id);
