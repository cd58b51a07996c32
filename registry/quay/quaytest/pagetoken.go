package quaytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"
)

// pageToken is the content of a next_page token: where the next page
// starts in a listing, for which listing, until when. Quay encrypts
// (start id, page, offset) with a 2-day TTL; the emulator signs instead,
// which is as opaque to clients and fails the same way: a token that does
// not verify, belongs to another listing or has expired reads as no token,
// and the first page comes back.
type pageToken struct {
	Kind    string `json:"k"` // "repos" or "logs"
	Scope   string `json:"s"` // namespace, or namespace/name for logs
	Offset  int    `json:"o"`
	Expires int64  `json:"e"`
}

func (e *Emulator) encodePageToken(kind, scope string, offset int) string {
	payload, _ := json.Marshal(pageToken{Kind: kind, Scope: scope, Offset: offset, Expires: e.now().Add(e.tokenTTL).Unix()})
	e.mu.Lock()
	key := e.pageKey
	e.mu.Unlock()
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	return "gAAAAA" + base64.RawURLEncoding.EncodeToString(append(payload, mac.Sum(nil)...))
}

// decodePageToken returns the offset a token names, or 0 (the first page)
// for an empty, garbled, foreign or expired token.
func (e *Emulator) decodePageToken(tok, kind, scope string) int {
	if len(tok) < 6 || tok[:6] != "gAAAAA" {
		return 0
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok[6:])
	if err != nil || len(raw) < sha256.Size {
		return 0
	}
	payload, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	e.mu.Lock()
	key := e.pageKey
	e.mu.Unlock()
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return 0
	}
	var t pageToken
	if json.Unmarshal(payload, &t) != nil || t.Kind != kind || t.Scope != scope || t.Offset < 0 {
		return 0
	}
	if time.Unix(t.Expires, 0).Before(e.now()) {
		return 0
	}
	return t.Offset
}
