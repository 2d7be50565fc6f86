// Package rotation holds what secret rotation needs besides storage:
// schedule expressions (rate(N days), rate(N hours), cron(...)) and the
// built-in rotation functions (random password, HTTP webhook) that
// implement the four steps createSecret, setSecret, testSecret and
// finishSecret.
package rotation
