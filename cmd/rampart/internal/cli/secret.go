package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/restclient"
)

// secretPath addresses a secret by name in the REST routes
// (/v1/secrets/{name=**}); names begin with "/", which the route supplies.
func secretPath(name, verb string) string {
	parts := strings.Split(strings.TrimPrefix(name, "/"), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/v1/secrets/" + strings.Join(parts, "/") + verb
}

func newSecretCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Manage your tenant's secrets (/{env}/{service}/{type}/{name})"}
	cmd.AddCommand(secretCreateCmd(f), secretPutCmd(f), secretGetCmd(f), secretDeleteCmd(f), secretRotateCmd(f),
		verb(f, "list", "List secrets (metadata only)", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/secrets", nil, nil, nil
		}),
		verb(f, "describe NAME", "Show metadata, versions and rotation state", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodGet, secretPath(a[0], ""), nil, nil, nil
		}),
		verb(f, "restore NAME", "Cancel a scheduled deletion", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodPost, secretPath(a[0], ":restore"), nil, map[string]any{}, nil
		}),
	)
	return cmd
}

// secretContentTypes are the values of `secret create|put --content-type`.
var secretContentTypes = []string{"text", "json", "binary"}

func secretCreateCmd(f *apiFlags) *cobra.Command {
	var value, description, contentType string
	create := verb(f, "create NAME", "Create a secret with its first value", 1, func(cmd *cobra.Command, a []string) (string, string, url.Values, any, error) {
		value, err := readValue(cmd, value)
		if err != nil {
			return "", "", nil, nil, err
		}
		if !cmd.Flags().Changed("value") {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: no --value: %s has no version yet; store one with rampart secret put %s --value -\n", a[0], a[0])
		}
		body := map[string]any{"name": a[0], "secret_string": value, "description": description}
		if contentType != "" {
			if body["content_type"], err = enumName("content-type", "CONTENT_TYPE_", contentType, secretContentTypes...); err != nil {
				return "", "", nil, nil, err
			}
		}
		return http.MethodPost, "/v1/secrets", nil, body, nil
	})
	create.Flags().StringVar(&value, "value", "", "secret value (none: a secret without a version until secret put); \"-\" reads it from stdin (keeps it out of shell history and ps)")
	create.Flags().StringVar(&description, "description", "", "description")
	create.Flags().StringVar(&contentType, "content-type", "", "text, json or binary")
	return create
}

func secretPutCmd(f *apiFlags) *cobra.Command {
	var value, contentType string
	put := verb(f, "put NAME", "Store a new version (becomes AWSCURRENT)", 1, func(cmd *cobra.Command, a []string) (string, string, url.Values, any, error) {
		// Without --value the new AWSCURRENT would be the empty string:
		// a forgotten flag must not replace the value a service reads (and
		// keyvault refuses an empty value anyway, ADR 0084).
		if !cmd.Flags().Changed("value") {
			return "", "", nil, nil, errors.New("--value is required: the new version's value (\"-\" reads it from stdin)")
		}
		value, err := readValue(cmd, value)
		if err != nil {
			return "", "", nil, nil, err
		}
		body := map[string]any{"secret_string": value}
		if contentType != "" {
			if body["content_type"], err = enumName("content-type", "CONTENT_TYPE_", contentType, secretContentTypes...); err != nil {
				return "", "", nil, nil, err
			}
		}
		return http.MethodPost, secretPath(a[0], ":putValue"), nil, body, nil
	})
	put.Flags().StringVar(&value, "value", "", "secret value (required); \"-\" reads it from stdin (keeps it out of shell history and ps)")
	put.Flags().StringVar(&contentType, "content-type", "", "text, json or binary")
	return put
}

func secretGetCmd(f *apiFlags) *cobra.Command {
	var stage, versionID string
	get := verb(f, "get NAME", "Read a secret value (default AWSCURRENT)", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
		q := url.Values{}
		if stage != "" {
			q.Set("version_stage", stage)
		}
		if versionID != "" {
			q.Set("version_id", versionID)
		}
		return http.MethodGet, secretPath(a[0], ":value"), q, nil, nil
	})
	get.Flags().StringVar(&stage, "stage", "", "staging label, e.g. AWSPREVIOUS")
	get.Flags().StringVar(&versionID, "version-id", "", "version id")
	return get
}

func secretDeleteCmd(f *apiFlags) *cobra.Command {
	var recoveryDays int
	var force bool
	del := verb(f, "delete NAME", "Schedule deletion (recovery window 7-30 days) or force-delete", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
		q := url.Values{}
		if recoveryDays > 0 {
			q.Set("recovery_window_in_days", strconv.Itoa(recoveryDays))
		}
		if force {
			q.Set("force_delete_without_recovery", "true")
		}
		return http.MethodDelete, secretPath(a[0], ""), q, nil, nil
	})
	del.Flags().IntVar(&recoveryDays, "recovery-days", 0, "recovery window in days (7-30, default 30)")
	del.Flags().BoolVar(&force, "force", false, "delete now, without a recovery window")
	return del
}

func secretRotateCmd(f *apiFlags) *cobra.Command {
	var function, schedule, jsonKey string
	rotate := verb(f, "rotate NAME", "Rotate now and/or set a rotation schedule", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
		body := map[string]any{}
		if function != "" || jsonKey != "" {
			rf, err := rotationFunction(function, jsonKey)
			if err != nil {
				return "", "", nil, nil, err
			}
			body["rotation_function"] = rf
		}
		if schedule != "" {
			body["rotation_rules"] = map[string]any{"schedule_expression": schedule}
		}
		return http.MethodPost, secretPath(a[0], ":rotate"), nil, body, nil
	})
	rotate.Flags().StringVar(&function, "function", "", "rotation function: random-password, webhook or rampart-api-key")
	rotate.Flags().StringVar(&schedule, "schedule", "", "schedule, e.g. 'rate(30 days)' or a cron expression")
	rotate.Flags().StringVar(&jsonKey, "json-key", "", "the value is a JSON object: replace only this field (e.g. password), keep the others")
	// The API names the missing field (rotation_function); say which flag
	// supplies it.
	run := rotate.RunE
	rotate.RunE = func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		if apiErr := (*restclient.APIError)(nil); errors.As(err, &apiErr) && apiErr.Param == "rotation_function" && function == "" {
			return fmt.Errorf("%w; the first rotation needs --function random-password, webhook or rampart-api-key", err)
		}
		return err
	}
	return rotate
}

// rotationFunction is the rotation_function of a rotate request.
func rotationFunction(function, jsonKey string) (map[string]any, error) {
	if function == "" {
		return nil, errors.New("--json-key needs --function random-password or rampart-api-key")
	}
	typ, err := enumName("function", "ROTATION_FUNCTION_TYPE_", function, "random-password", "webhook", "rampart-api-key")
	if err != nil {
		return nil, err
	}
	rf := map[string]any{"type": typ}
	// A JSON value (e.g. a database credential) keeps its other fields;
	// only the named one is replaced.
	switch {
	case jsonKey == "":
	case rf["type"] == "ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD":
		rf["password_policy"] = map[string]any{"json_key": jsonKey}
	case rf["type"] == "ROTATION_FUNCTION_TYPE_RAMPART_API_KEY":
		rf["api_key"] = map[string]any{"json_key": jsonKey}
	default:
		return nil, fmt.Errorf("--json-key applies to random-password and rampart-api-key, not %s", function)
	}
	return rf, nil
}

// readValue returns v, or stdin's content (one trailing newline dropped) when v is "-".
func readValue(cmd *cobra.Command, v string) (string, error) {
	if v != "-" {
		return v, nil
	}
	data, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10+1))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}
