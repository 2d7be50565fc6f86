package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/config"
)

func TestReflection(t *testing.T) {
	tests := []struct {
		profile string
		flag    bool
		want    bool
	}{
		{config.ProfileDev, false, true},
		{config.ProfileProd, false, false},
		{config.ProfileProd, true, true},
	}
	for _, tt := range tests {
		c := config.Common{Profile: tt.profile, GRPCReflection: tt.flag}
		require.Equal(t, tt.want, c.Reflection(), "%s reflection=%v", tt.profile, tt.flag)
	}
}

func TestPprofDevOnly(t *testing.T) {
	tests := []struct {
		profile string
		pprof   bool
		wantErr bool
	}{
		{config.ProfileDev, false, false},
		{config.ProfileDev, true, false},
		{config.ProfileProd, false, false},
		{config.ProfileProd, true, true},
	}
	for _, tt := range tests {
		c := config.Defaults("auth")
		c.Profile, c.Pprof = tt.profile, tt.pprof
		require.NoError(t, c.Finalize())
		err := c.Validate()
		if tt.wantErr {
			require.ErrorContains(t, err, "Pprof", "%s pprof=%v", tt.profile, tt.pprof)
		} else {
			require.NoError(t, err, "%s pprof=%v", tt.profile, tt.pprof)
		}
	}
}
