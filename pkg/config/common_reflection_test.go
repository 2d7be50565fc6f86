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
