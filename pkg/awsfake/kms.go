package awsfake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"net/http"
	"sort"
	"strings"
	"time"
)

type kmsKey struct {
	id, arn  string
	material []byte
	state    string // Enabled, PendingDeletion, Disabled
	deleteAt time.Time
}

func init() {
	register("TrentService.CreateKey", (*Fake).kmsCreateKey)
	register("TrentService.CreateAlias", (*Fake).kmsCreateAlias)
	register("TrentService.DescribeKey", (*Fake).kmsDescribeKey)
	register("TrentService.GenerateDataKey", (*Fake).kmsGenerateDataKey)
	register("TrentService.Decrypt", (*Fake).kmsDecrypt)
	register("TrentService.ScheduleKeyDeletion", (*Fake).kmsScheduleDeletion)
	register("TrentService.RotateKeyOnDemand", (*Fake).kmsRotate)
}

func kmsNotFound(id string) *apiError {
	return errorf(http.StatusBadRequest, "NotFoundException", "Key '%s' does not exist", id)
}

func (f *Fake) newKey() *kmsKey {
	id := f.newID()
	m := make([]byte, 32)
	_, _ = rand.Read(m)
	k := &kmsKey{id: id, arn: "arn:aws:kms:us-east-1:000000000000:key/" + id, material: m, state: "Enabled"}
	f.keys[id] = k
	return k
}

// CreateKey makes a key directly (test setup) and returns its id.
func (f *Fake) CreateKey(alias string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.newKey()
	if alias != "" {
		f.aliases[alias] = k.id
	}
	return k.id
}

// KeyState reports a key's state ("Enabled", "PendingDeletion") by id or
// alias; "" if unknown.
func (f *Fake) KeyState(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, err := f.resolveKey(id); err == nil {
		return k.state
	}
	return ""
}

func (f *Fake) resolveKey(id string) (*kmsKey, *apiError) {
	if id == "" {
		return nil, errorf(http.StatusBadRequest, "ValidationException", "KeyId is required")
	}
	if strings.HasPrefix(id, "alias/") {
		kid, ok := f.aliases[id]
		if !ok {
			return nil, errorf(http.StatusBadRequest, "NotFoundException", "Alias %s is not found.", id)
		}
		id = kid
	}
	id = strings.TrimPrefix(id, "arn:aws:kms:us-east-1:000000000000:key/")
	k, ok := f.keys[id]
	if !ok {
		return nil, kmsNotFound(id)
	}
	return k, nil
}

func usable(k *kmsKey) *apiError {
	if k.state != "Enabled" {
		return errorf(http.StatusBadRequest, "KMSInvalidStateException", "%s is pending deletion.", k.arn)
	}
	return nil
}

func (f *Fake) kmsCreateKey(body []byte) (any, *apiError) {
	var in struct {
		Description string `json:"Description"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k := f.newKey()
	return map[string]any{"KeyMetadata": keyMeta(k)}, nil
}

func keyMeta(k *kmsKey) map[string]any {
	m := map[string]any{"KeyId": k.id, "Arn": k.arn, "KeyState": k.state, "Enabled": k.state == "Enabled",
		"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT"}
	if !k.deleteAt.IsZero() {
		m["DeletionDate"] = epoch(k.deleteAt)
	}
	return m
}

func (f *Fake) kmsCreateAlias(body []byte) (any, *apiError) {
	var in struct {
		AliasName   string `json:"AliasName"`
		TargetKeyID string `json:"TargetKeyId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.AliasName, "alias/") {
		return nil, errorf(http.StatusBadRequest, "ValidationException", "AliasName must begin with alias/")
	}
	if _, ok := f.aliases[in.AliasName]; ok {
		return nil, errorf(http.StatusBadRequest, "AlreadyExistsException", "An alias with the name %s already exists", in.AliasName)
	}
	k, err := f.resolveKey(in.TargetKeyID)
	if err != nil {
		return nil, err
	}
	f.aliases[in.AliasName] = k.id
	return map[string]any{}, nil
}

func (f *Fake) kmsDescribeKey(body []byte) (any, *apiError) {
	var in struct {
		KeyID string `json:"KeyId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k, err := f.resolveKey(in.KeyID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": keyMeta(k)}, nil
}

func (f *Fake) kmsScheduleDeletion(body []byte) (any, *apiError) {
	var in struct {
		KeyID               string `json:"KeyId"`
		PendingWindowInDays int    `json:"PendingWindowInDays"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k, err := f.resolveKey(in.KeyID)
	if err != nil {
		return nil, err
	}
	days := in.PendingWindowInDays
	if days == 0 {
		days = 30
	}
	if days < 7 || days > 30 {
		return nil, errorf(http.StatusBadRequest, "ValidationException", "PendingWindowInDays must be 7-30")
	}
	k.state = "PendingDeletion"
	k.deleteAt = f.Now().UTC().Add(time.Duration(days) * 24 * time.Hour)
	return map[string]any{"KeyId": k.arn, "KeyState": k.state, "DeletionDate": epoch(k.deleteAt), "PendingWindowInDays": days}, nil
}

// contextAAD encodes an encryption context deterministically.
func contextAAD(ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		b = binary.BigEndian.AppendUint32(b, uint32(len(k))) //nolint:gosec // bounded by body size
		b = append(b, k...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(ec[k]))) //nolint:gosec // bounded by body size
		b = append(b, ec[k]...)
	}
	return b
}

// blob layout: 2-byte key id length ‖ key id ‖ 12-byte nonce ‖ AES-GCM.
func sealBlob(k *kmsKey, pt []byte, ec map[string]string) []byte {
	block, _ := aes.NewCipher(k.material)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	out := binary.BigEndian.AppendUint16(nil, uint16(len(k.id))) //nolint:gosec // ids are short
	out = append(out, k.id...)
	out = append(out, nonce...)
	return gcm.Seal(out, nonce, pt, contextAAD(ec))
}

func invalidCiphertext() *apiError {
	return errorf(http.StatusBadRequest, "InvalidCiphertextException", "")
}

func (f *Fake) kmsGenerateDataKey(body []byte) (any, *apiError) {
	var in struct {
		KeyID             string            `json:"KeyId"`
		KeySpec           string            `json:"KeySpec"`
		NumberOfBytes     int               `json:"NumberOfBytes"`
		EncryptionContext map[string]string `json:"EncryptionContext"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k, err := f.resolveKey(in.KeyID)
	if err != nil {
		return nil, err
	}
	if err := usable(k); err != nil {
		return nil, err
	}
	n := 0
	switch {
	case in.KeySpec == "AES_256" && in.NumberOfBytes == 0:
		n = 32
	case in.KeySpec == "AES_128" && in.NumberOfBytes == 0:
		n = 16
	case in.KeySpec == "" && in.NumberOfBytes >= 1 && in.NumberOfBytes <= 1024:
		n = in.NumberOfBytes
	default:
		return nil, errorf(http.StatusBadRequest, "ValidationException", "specify exactly one of KeySpec (AES_256, AES_128) or NumberOfBytes (1-1024)")
	}
	pt := make([]byte, n)
	_, _ = rand.Read(pt)
	return map[string]any{"KeyId": k.arn, "Plaintext": pt, "CiphertextBlob": sealBlob(k, pt, in.EncryptionContext)}, nil
}

func (f *Fake) kmsDecrypt(body []byte) (any, *apiError) {
	var in struct {
		KeyID             string            `json:"KeyId"`
		CiphertextBlob    []byte            `json:"CiphertextBlob"`
		EncryptionContext map[string]string `json:"EncryptionContext"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	b := in.CiphertextBlob
	if len(b) < 2 {
		return nil, invalidCiphertext()
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n+12+16 {
		return nil, invalidCiphertext()
	}
	k, ok := f.keys[string(b[2:2+n])]
	if !ok {
		return nil, invalidCiphertext()
	}
	if in.KeyID != "" {
		want, err := f.resolveKey(in.KeyID)
		if err != nil {
			return nil, err
		}
		if want.id != k.id {
			return nil, errorf(http.StatusBadRequest, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	if err := usable(k); err != nil {
		return nil, err
	}
	block, _ := aes.NewCipher(k.material)
	gcm, _ := cipher.NewGCM(block)
	nonce := b[2+n : 2+n+12]
	pt, err := gcm.Open(nil, nonce, b[2+n+12:], contextAAD(in.EncryptionContext))
	if err != nil {
		return nil, invalidCiphertext()
	}
	return map[string]any{"KeyId": k.arn, "Plaintext": pt, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

// kmsRotate accepts an on-demand rotation; the fake keeps one material per
// key, which is indistinguishable to callers (old blobs keep decrypting).
func (f *Fake) kmsRotate(body []byte) (any, *apiError) {
	var in struct {
		KeyID string `json:"KeyId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k, err := f.resolveKey(in.KeyID)
	if err != nil {
		return nil, err
	}
	if err := usable(k); err != nil {
		return nil, err
	}
	return map[string]any{"KeyId": k.arn}, nil
}
