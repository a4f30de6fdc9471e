package carbon_test

import (
	"encoding/json"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

func TestRegions(t *testing.T) {
	// 31 mainland province-level divisions plus Hong Kong, Macao and Taiwan.
	require.Len(t, carbon.Regions(), 34)
	for _, r := range carbon.Regions() {
		require.True(t, r.Valid())
		require.NotEmpty(t, r.Name())
		require.Regexp(t, `^CN-[A-Z]{2}$`, r.String())
	}
	require.Equal(t, "Guangdong", carbon.Guangdong.Name())
	require.Equal(t, "Beijing", carbon.Beijing.Name())
	require.Equal(t, "Zhejiang", carbon.Zhejiang.Name())
}

func TestParseRegion(t *testing.T) {
	r, err := carbon.ParseRegion("CN-GD")
	require.NoError(t, err)
	require.Equal(t, carbon.Guangdong, r)
	r, err = carbon.ParseRegion("cn-zj")
	require.NoError(t, err)
	require.Equal(t, carbon.Zhejiang, r)

	for _, bad := range []string{"", "GD", "CN-XX", "CN-GDX", "US-CA", "CN-44", "CN-ſX", "cn-hı"} {
		t.Run(bad, func(t *testing.T) {
			_, err := carbon.ParseRegion(bad)
			require.ErrorIs(t, err, carbon.ErrUnknownRegion)
			var pe *carbon.ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, bad, pe.Input)
		})
	}
}

func TestRegionJSON(t *testing.T) {
	type doc struct {
		Region carbon.Region `json:"region"`
	}
	b, err := json.Marshal(doc{carbon.Beijing})
	require.NoError(t, err)
	require.JSONEq(t, `{"region":"CN-BJ"}`, string(b))
	var out doc
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, carbon.Beijing, out.Region)

	b, err = json.Marshal(doc{})
	require.NoError(t, err)
	require.JSONEq(t, `{"region":""}`, string(b))
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, carbon.Region(""), out.Region)

	_, err = json.Marshal(doc{carbon.Region("CN-XX")})
	require.ErrorIs(t, err, carbon.ErrUnknownRegion)
	require.ErrorIs(t, json.Unmarshal([]byte(`{"region":"CN-XX"}`), &out), carbon.ErrUnknownRegion)
}
