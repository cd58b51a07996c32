package quaytest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"
)

// pageToken is the content of a next_page token: where the next page
// starts in a listing (the registry's own page token, or an offset), for
// which listing, until when. Like Quay's (an
// encrypted start id, page and offset with a 2-day TTL) it is opaque, and a
// token that does not decrypt, belongs to another listing or has expired
// reads as no token: the first page comes back.
type pageToken struct {
	Kind    string `json:"k"` // "repos" or "logs"
	Scope   string `json:"s"` // the listing's parameters
	Cursor  string `json:"c"`
	Expires int64  `json:"e"`
}

// tokenPrefix is what Quay's Fernet tokens start with.
const tokenPrefix = "gAAAAA"

func (e *Emulator) pageAEAD() cipher.AEAD {
	e.mu.Lock()
	key := e.pageKey
	e.mu.Unlock()
	block, err := aes.NewCipher(key) // a 32-byte key never fails
	if err != nil {
		return nil
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil
	}
	return aead
}

func (e *Emulator) encodePageToken(kind, scope, cursor string) string {
	payload, _ := json.Marshal(pageToken{Kind: kind, Scope: scope, Cursor: cursor, Expires: e.now().Add(e.tokenTTL).Unix()})
	aead := e.pageAEAD()
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, payload, nil))
}

// decodePageToken returns the cursor a token names, or "" (the first
// page) for an empty, garbled, foreign or expired token.
func (e *Emulator) decodePageToken(tok, kind, scope string) string {
	if len(tok) <= len(tokenPrefix) || tok[:len(tokenPrefix)] != tokenPrefix {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok[len(tokenPrefix):])
	aead := e.pageAEAD()
	if err != nil || len(raw) < aead.NonceSize() {
		return ""
	}
	payload, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return ""
	}
	var t pageToken
	if json.Unmarshal(payload, &t) != nil || t.Kind != kind || t.Scope != scope {
		return ""
	}
	if time.Unix(t.Expires, 0).Before(e.now()) {
		return ""
	}
	return t.Cursor
}
