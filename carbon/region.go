package carbon

import "strings"

// Region is an ISO 3166-2:CN code for one of mainland China's 31
// province-level divisions, or for Hong Kong, Macao or Taiwan ("CN-GD",
// "CN-BJ", "CN-ZJ"). The zero value means no region; any other string outside
// the set is unknown, which Valid reports and ParseRegion refuses.
type Region string

// The province-level divisions, by ISO 3166-2:CN code (the letter codes in use
// since the standard's 2017 revision).
const (
	Beijing       Region = "CN-BJ"
	Tianjin       Region = "CN-TJ"
	Hebei         Region = "CN-HE"
	Shanxi        Region = "CN-SX"
	InnerMongolia Region = "CN-NM"
	Liaoning      Region = "CN-LN"
	Jilin         Region = "CN-JL"
	Heilongjiang  Region = "CN-HL"
	Shanghai      Region = "CN-SH"
	Jiangsu       Region = "CN-JS"
	Zhejiang      Region = "CN-ZJ"
	Anhui         Region = "CN-AH"
	Fujian        Region = "CN-FJ"
	Jiangxi       Region = "CN-JX"
	Shandong      Region = "CN-SD"
	Henan         Region = "CN-HA"
	Hubei         Region = "CN-HB"
	Hunan         Region = "CN-HN"
	Guangdong     Region = "CN-GD"
	Guangxi       Region = "CN-GX"
	Hainan        Region = "CN-HI"
	Chongqing     Region = "CN-CQ"
	Sichuan       Region = "CN-SC"
	Guizhou       Region = "CN-GZ"
	Yunnan        Region = "CN-YN"
	Tibet         Region = "CN-XZ"
	Shaanxi       Region = "CN-SN"
	Gansu         Region = "CN-GS"
	Qinghai       Region = "CN-QH"
	Ningxia       Region = "CN-NX"
	Xinjiang      Region = "CN-XJ"
	HongKong      Region = "CN-HK"
	Macao         Region = "CN-MO"
	Taiwan        Region = "CN-TW"
)

// regionNames is immutable after package initialisation.
var regionNames = map[Region]string{
	Beijing: "Beijing", Tianjin: "Tianjin", Hebei: "Hebei", Shanxi: "Shanxi",
	InnerMongolia: "Inner Mongolia", Liaoning: "Liaoning", Jilin: "Jilin",
	Heilongjiang: "Heilongjiang", Shanghai: "Shanghai", Jiangsu: "Jiangsu",
	Zhejiang: "Zhejiang", Anhui: "Anhui", Fujian: "Fujian", Jiangxi: "Jiangxi",
	Shandong: "Shandong", Henan: "Henan", Hubei: "Hubei", Hunan: "Hunan",
	Guangdong: "Guangdong", Guangxi: "Guangxi", Hainan: "Hainan",
	Chongqing: "Chongqing", Sichuan: "Sichuan", Guizhou: "Guizhou",
	Yunnan: "Yunnan", Tibet: "Tibet", Shaanxi: "Shaanxi", Gansu: "Gansu",
	Qinghai: "Qinghai", Ningxia: "Ningxia", Xinjiang: "Xinjiang",
	HongKong: "Hong Kong", Macao: "Macao", Taiwan: "Taiwan",
}

// Regions returns every known region, in no particular order.
func Regions() []Region {
	out := make([]Region, 0, len(regionNames))
	for r := range regionNames {
		out = append(out, r)
	}
	return out
}

// ParseRegion returns the region with code s, accepted in any letter case
// ("cn-gd" reads as CN-GD). An unknown code is a *ParseError matching
// ErrUnknownRegion; so is one that only Unicode case folding would make
// known ("CN-ſX", with a long s).
func ParseRegion(s string) (Region, error) {
	r := Region(strings.ToUpper(s))
	// A known code is ASCII, so a non-ASCII letter in s that ToUpper mapped
	// to ASCII (ſ to S) made r shorter than s.
	if !r.Valid() || len(r) != len(s) {
		return "", &ParseError{Func: "ParseRegion", Input: s, Err: ErrUnknownRegion}
	}
	return r, nil
}

// Valid reports whether r is a known region code (in canonical upper case).
func (r Region) Valid() bool {
	_, ok := regionNames[r]
	return ok
}

// Name returns the region's English name, or "" for an unknown code.
func (r Region) Name() string { return regionNames[r] }

// String returns the code.
func (r Region) String() string { return string(r) }

// MarshalText encodes a known region as its code and the zero Region as empty
// text; an unknown code is an error matching ErrUnknownRegion.
func (r Region) MarshalText() ([]byte, error) {
	if r != "" && !r.Valid() {
		return nil, &ParseError{Func: "Region.MarshalText", Input: string(r), Err: ErrUnknownRegion}
	}
	return []byte(r), nil
}

// UnmarshalText decodes a region code as ParseRegion does, and empty text as
// the zero Region.
func (r *Region) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = ""
		return nil
	}
	p, err := ParseRegion(string(b))
	if err != nil {
		return err
	}
	*r = p
	return nil
}
