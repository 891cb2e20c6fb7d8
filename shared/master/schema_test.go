package master

import (
	"testing"

	"github.com/gmis-oss/gmis/shared/apperr"
)

func TestInstitutionCoordinates(t *testing.T) {
	base := func(lat, lon string) map[string]string {
		f := map[string]string{"name": "座標病院", "category": "hospital", "prefectureCode": "13", "healthCenterCode": "1301"}
		if lat != "" {
			f["latitude"] = lat
		}
		if lon != "" {
			f["longitude"] = lon
		}
		return f
	}
	tests := []struct {
		name, lat, lon   string
		wantLat, wantLon string
		wantField        string
	}{
		{name: "Tokyo", lat: "35.6812", lon: "139.7671", wantLat: "35.6812", wantLon: "139.7671"},
		{name: "full-width digits", lat: "３５．５", lon: "１３９", wantLat: "35.5", wantLon: "139"},
		{name: "none", wantLat: "", wantLon: ""},
		{name: "latitude outside Japan", lat: "51.5", lon: "139", wantField: "latitude"},
		{name: "longitude outside Japan", lat: "35", lon: "-0.12", wantField: "longitude"},
		{name: "not a number", lat: "北緯35度", lon: "139", wantField: "latitude"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := FieldsFrom(Institutions, base(tt.lat, tt.lon))
			if tt.wantField != "" {
				if e, ok := err.(*apperr.Error); !ok || e.Field != tt.wantField {
					t.Fatalf("err = %v, want a problem with %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Fields["latitude"]; got != tt.wantLat {
				t.Errorf("latitude = %q, want %q", got, tt.wantLat)
			}
			if got := rec.Fields["longitude"]; got != tt.wantLon {
				t.Errorf("longitude = %q, want %q", got, tt.wantLon)
			}
		})
	}
}
