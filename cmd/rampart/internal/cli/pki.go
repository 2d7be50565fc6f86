package cli

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/pkiops"
)

func newPKICmd() *cobra.Command {
	cmd := &cobra.Command{Use: "pki", Short: "Create the dev CA and issue mTLS certificates"}

	var dir string
	var caTTL, certTTL time.Duration
	var hosts []string
	initCmd := &cobra.Command{
		Use:   "init",
		Args:  exactArgs(0),
		Short: "Create a CA (if missing) and a short-lived certificate for every service",
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := pkiops.Init(pkiops.Options{Dir: dir, CATTL: caTTL, CertTTL: certTTL, ExtraHosts: hosts, RenewWithin: certTTL / 4})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "PKI in %s: new CA %v; issued %v\n", dir, res.CreatedCA, res.Issued)
			if res.ReplacedCA {
				fmt.Fprintf(cmd.ErrOrStderr(), "The CA had no more than --ttl (%s) left and was replaced: give every service the new ca.crt together with its new certificate.\n", certTTL)
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&dir, "dir", defaultCertDir(), "PKI directory")
	initCmd.Flags().DurationVar(&caTTL, "ca-ttl", 30*24*time.Hour, "CA validity")
	initCmd.Flags().DurationVar(&certTTL, "ttl", 24*time.Hour, "service certificate validity (shorter than --ca-ttl)")
	initCmd.Flags().StringSliceVar(&hosts, "hosts", nil, "extra DNS names for every service certificate")

	var issueDir, id, name string
	var issueTTL time.Duration
	issueCmd := &cobra.Command{
		Use:   "issue",
		Args:  exactArgs(0),
		Short: "Issue a client certificate for an internal caller (spiffe://rampart.local/client/<name>)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return fmt.Errorf("--spiffe-id is required")
			}
			if name == "" {
				name = filepath.Base(id)
			}
			if err := pkiops.IssueClient(issueDir, name, id, issueTTL); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (key 0600)\n",
				filepath.Join(issueDir, name+".crt"), filepath.Join(issueDir, name+".key"))
			return nil
		},
	}
	issueCmd.Flags().StringVar(&issueDir, "dir", defaultCertDir(), "PKI directory holding the CA")
	issueCmd.Flags().StringVar(&id, "spiffe-id", "", "SPIFFE ID of the caller, e.g. spiffe://rampart.local/client/billing")
	issueCmd.Flags().StringVar(&name, "name", "", "file name stem (default: last path element of the ID)")
	issueCmd.Flags().DurationVar(&issueTTL, "ttl", 24*time.Hour, "certificate validity")

	cmd.AddCommand(initCmd, issueCmd)
	return cmd
}
