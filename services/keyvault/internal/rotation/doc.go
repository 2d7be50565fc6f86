// Package rotation holds what secret rotation needs besides storage:
// schedule expressions with AWS Secrets Manager's exact rules (rate(N
// hours|days), 6-field cron() with 1-based weekdays, L and #; standard cron
// fields parsed by github.com/robfig/cron/v3) and the
// built-in rotation functions (random password, HTTP webhook) that
// implement the four steps createSecret, setSecret, testSecret and
// finishSecret.
package rotation
