package rotation

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule computes rotation times.
type Schedule interface {
	// Next returns the first rotation time strictly after t.
	Next(t time.Time) time.Time
	String() string
}

// AWS Secrets Manager's limits on schedules ("Schedule expressions in
// Secrets Manager rotation",
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html).
const (
	// MinInterval: "You can rotate a secret as often as every four hours."
	MinInterval = 4 * time.Hour
	// MaxRateDays: "The maximum rotation period is 999 days."
	MaxRateDays = 999
)

// ParseSchedule parses a Secrets Manager schedule expression, in UTC, with
// exactly AWS's rules:
//
//   - rate(Value Unit): Value a positive integer, Unit hour, hours, day or
//     days — singular exactly when Value is 1 — at least 4 hours and at most
//     999 days apart.
//   - cron(Minutes Hours Day-of-month Month Day-of-week Year): all six
//     fields; Minutes must be 0 (windows open on the hour), Year must be *;
//     Hours 0-23 (, - * /); Day-of-month 1-31 (, - * ? / L); Month 1-12 or
//     JAN-DEC (, - * /); Day-of-week 1-7 or SUN-SAT with 1 = Sunday
//     (, - * ? / L #: "L" is Saturday, "6L" the month's last Friday, "3#2"
//     its second Tuesday). One of Day-of-month and Day-of-week must be "?",
//     the other not. Hour increments restart each day (cron(0 4/12 * * ? *)
//     is 04:00 and 16:00). Firings closer than 4 hours, and a cron that never
//     fires, are refused. Secrets Manager does not take W (nearest weekday),
//     which EventBridge cron does.
//
// The standard fields are parsed and stepped by github.com/robfig/cron/v3;
// this package adds AWS's differences (field count, 1-based weekdays, L, #,
// the ? rule, the 4-hour minimum).
func ParseSchedule(expr string) (Schedule, error) {
	expr = strings.TrimSpace(expr)
	var (
		s   Schedule
		err error
	)
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		s, err = parseRate(expr[len("rate(") : len(expr)-1])
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		s, err = parseCron(expr, expr[len("cron("):len(expr)-1])
	default:
		err = errors.New("want rate(Value Unit) or cron(Minutes Hours Day-of-month Month Day-of-week Year)")
	}
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return s, nil
}

type rate struct {
	d    time.Duration
	expr string
}

func (r rate) Next(t time.Time) time.Time { return t.Add(r.d) }
func (r rate) String() string             { return r.expr }

var digits = regexp.MustCompile(`^[0-9]+$`)

func parseRate(body string) (Schedule, error) {
	f := strings.Fields(body)
	if len(f) != 2 {
		return nil, errors.New("want rate(Value Unit), e.g. rate(10 days)")
	}
	if !digits.MatchString(f[0]) {
		return nil, errors.New("the value must be a positive integer")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return nil, errors.New("the value must be a positive integer")
	}
	var unit time.Duration
	switch strings.TrimSuffix(f[1], "s") {
	case "day":
		unit = 24 * time.Hour
	case "hour":
		unit = time.Hour
	case "minute":
		return nil, errors.New("rotation is at most every 4 hours: the unit is hour(s) or day(s), not minutes")
	default:
		return nil, fmt.Errorf("unit %q: must be hour, hours, day or days", f[1])
	}
	if plural := strings.HasSuffix(f[1], "s"); plural != (n != 1) {
		return nil, fmt.Errorf("unit %q: singular for a Value of 1, plural otherwise", f[1])
	}
	d := time.Duration(n) * unit
	if d < MinInterval {
		return nil, errors.New("rotation is at most every 4 hours")
	}
	if d > MaxRateDays*24*time.Hour {
		return nil, fmt.Errorf("at most %d days", MaxRateDays)
	}
	return rate{d: d, expr: "rate(" + f[0] + " " + f[1] + ")"}, nil
}

// awsCron is an AWS cron expression: robfig's schedule for the standard
// fields plus, when the expression uses L or #, a day rule robfig lacks.
type awsCron struct {
	std  *cron.SpecSchedule
	day  func(time.Time) bool // nil: std decides the day alone
	expr string
}

// stdParser parses the five standard fields (no seconds, no descriptors).
var stdParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

var (
	lastWeekday = regexp.MustCompile(`^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)L$`)
	nthWeekday  = regexp.MustCompile(`^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)#([1-5])$`)
	// Characters AWS allows in each field (names checked by robfig).
	hourChars  = regexp.MustCompile(`^[0-9,*/-]+$`)
	domChars   = regexp.MustCompile(`^[0-9,*/-]+$`)
	monthChars = regexp.MustCompile(`^[0-9A-Z,*/-]+$`)
	dowChars   = regexp.MustCompile(`^[0-9A-Z,*/-]+$`)
	dowToken   = regexp.MustCompile(`[0-9]+`)
)

var weekdayNames = map[string]time.Weekday{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

func parseCron(expr, body string) (Schedule, error) {
	f := strings.Fields(strings.ToUpper(body))
	if len(f) != 6 {
		return nil, fmt.Errorf("cron needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got %d", len(f))
	}
	minute, hour, dom, month, dow, year := f[0], f[1], f[2], f[3], f[4], f[5]
	if minute != "0" {
		return nil, errors.New("minutes must be 0: rotation windows open on the hour")
	}
	if year != "*" {
		return nil, errors.New("year must be *")
	}
	if !hourChars.MatchString(hour) {
		return nil, fmt.Errorf("hours %q: 0-23 with , - * /", hour)
	}
	if !monthChars.MatchString(month) {
		return nil, fmt.Errorf("month %q: 1-12 or JAN-DEC with , - * /", month)
	}
	if (dom == "?") == (dow == "?") {
		return nil, errors.New("exactly one of day-of-month and day-of-week must be ?")
	}
	c := awsCron{expr: expr}
	stdDom, stdDow := "?", "?"
	switch {
	case dom == "?":
	case strings.Contains(dom, "W"):
		return nil, errors.New("day-of-month: W (nearest weekday) is not supported by Secrets Manager")
	case dom == "L":
		stdDom, c.day = "*", lastDayOfMonth
	case domChars.MatchString(dom):
		stdDom = dom
	default:
		return nil, fmt.Errorf("day-of-month %q: 1-31 or L with , - * ? /", dom)
	}
	switch m := nthWeekday.FindStringSubmatch(dow); {
	case dow == "?":
	case dow == "L": // the last day of the week: Saturday
		stdDow = "6"
	case lastWeekday.MatchString(dow):
		stdDow, c.day = "*", lastOfMonth(weekday(strings.TrimSuffix(dow, "L")))
	case m != nil:
		n, _ := strconv.Atoi(m[2])
		stdDow, c.day = "*", nthOfMonth(weekday(m[1]), n)
	case dowChars.MatchString(dow):
		var err error
		if stdDow, err = zeroBasedWeekdays(dow); err != nil {
			return nil, fmt.Errorf("day-of-week %q: %w", dow, err)
		}
	default:
		return nil, fmt.Errorf("day-of-week %q: 1-7 or SUN-SAT with , - * ? / L #", dow)
	}
	std, err := stdParser.Parse(strings.Join([]string{"0", hour, stdDom, month, stdDow}, " "))
	if err != nil {
		return nil, err
	}
	spec, ok := std.(*cron.SpecSchedule)
	if !ok {
		return nil, errors.New("unexpected schedule type")
	}
	spec.Location = time.UTC
	c.std = spec
	return c, c.check()
}

// zeroBasedWeekdays rewrites AWS's 1-7 (1 = Sunday) numbers as robfig's
// 0-6; names (SUN-SAT) are the same in both. Ranges and steps keep their
// meaning: AWS "2-6/2" (MON, WED, FRI) is robfig "1-5/2".
func zeroBasedWeekdays(field string) (string, error) {
	parts := strings.Split(field, ",")
	for i, part := range parts {
		rng, step, hasStep := strings.Cut(part, "/")
		var bad error
		rng = dowToken.ReplaceAllStringFunc(rng, func(num string) string {
			n, _ := strconv.Atoi(num)
			if n < 1 || n > 7 {
				bad = fmt.Errorf("%s is outside 1-7 (1 = Sunday)", num)
			}
			return strconv.Itoa(n - 1)
		})
		if bad != nil {
			return "", bad
		}
		if hasStep {
			if !digits.MatchString(step) {
				return "", fmt.Errorf("step %q is not a number", step)
			}
			rng += "/" + step // a step counts days, it is not a day
		}
		parts[i] = rng
	}
	return strings.Join(parts, ","), nil
}

func weekday(s string) time.Weekday {
	if d, ok := weekdayNames[s]; ok {
		return d
	}
	n, _ := strconv.Atoi(s)
	return time.Weekday(n - 1) // AWS: 1 = Sunday
}

func lastDayOfMonth(t time.Time) bool { return t.AddDate(0, 0, 1).Day() == 1 }

func lastOfMonth(d time.Weekday) func(time.Time) bool {
	return func(t time.Time) bool { return t.Weekday() == d && t.AddDate(0, 0, 7).Month() != t.Month() }
}

func nthOfMonth(d time.Weekday, n int) func(time.Time) bool {
	return func(t time.Time) bool { return t.Weekday() == d && (t.Day()-1)/7+1 == n }
}

// horizon bounds the search for the next firing: with Year "*" a valid
// expression fires within about a year (29 February: four), so five years
// covers every one that fires at all.
const horizon = 5 * 366 * 24 * time.Hour

// Next implements Schedule.
func (c awsCron) Next(t time.Time) time.Time {
	t = t.UTC()
	end := t.Add(horizon)
	for {
		n := c.std.Next(t)
		if n.IsZero() || n.After(end) {
			return time.Time{}
		}
		if c.day == nil || c.day(n) {
			return n
		}
		// Skip the rest of that day.
		t = time.Date(n.Year(), n.Month(), n.Day(), 23, 59, 59, 0, time.UTC)
	}
}

func (c awsCron) String() string { return c.expr }

// check refuses an expression that never fires or fires less than four
// hours after its previous firing (over two years of firings, which
// covers every month boundary and a leap day).
func (c awsCron) check() error {
	t := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := c.Next(t)
	if prev.IsZero() {
		return errors.New("never fires")
	}
	end := prev.AddDate(2, 0, 0)
	for range 5000 {
		n := c.Next(prev)
		if n.IsZero() || n.After(end) {
			return nil
		}
		if n.Sub(prev) < MinInterval {
			return fmt.Errorf("fires at %s and %s: rotation is at most every 4 hours",
				prev.Format("Mon 15:04"), n.Format("Mon 15:04"))
		}
		prev = n
	}
	return nil
}
