package search

import (
	"math"
	"strconv"
	"time"

	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// Institution is what the search shows of an institution's master record.
type Institution struct {
	Code             string   `json:"code"`
	Name             string   `json:"name"`
	Kana             string   `json:"kana,omitempty"`
	Address          string   `json:"address,omitempty"`
	Phone            string   `json:"phone,omitempty"`
	Category         string   `json:"category"`
	PrefectureCode   string   `json:"prefectureCode"`
	MunicipalityCode string   `json:"municipalityCode,omitempty"`
	HealthCenterCode string   `json:"healthCenterCode"`
	Latitude         *float64 `json:"latitude,omitempty"`
	Longitude        *float64 `json:"longitude,omitempty"`
}

// Entry is one institution in the read model: its master fields, their
// folded forms and the accepting status of its latest daily survey (nil
// when it never answered).
type Entry struct {
	Institution
	NameKey string
	KanaKey string
	Status  *Status
	// PrevDate is the date of the latest daily survey before the one in
	// Status ("" when there was none), and AdvancedAt when Status's date
	// became the latest (zero when unknown): so that a search can judge
	// staleness as it was at an earlier time (LatestAsOf).
	PrevDate   string
	AdvancedAt time.Time
}

// LatestAsOf is the date of e's latest daily survey as it was at t0 (""
// when it had none): the one before the latest when the latest arrived
// after t0. Only the last advance is known, which is enough for the
// minutes a search is paged through.
func (e Entry) LatestAsOf(t0 time.Time) string {
	if e.Status == nil {
		return ""
	}
	if !e.AdvancedAt.IsZero() && e.AdvancedAt.After(t0) {
		return e.PrevDate
	}
	return e.Status.Date
}

// StatusOf is the accepting status of a daily survey.
func StatusOf(d survey.Record[survey.Daily]) *Status {
	return &Status{Date: d.Period, ReportedAt: d.UpdatedAt, CovidAvailable: d.Values.Beds.CovidAvailable, Services: d.Values.Services,
		PCRAvailable: d.Values.Flags.PCRAvailable, DesignatedClinic: d.Values.Flags.DesignatedClinic}
}

// FromMaster is the read-model entry of an institution's master record,
// without a survey.
func FromMaster(r master.Record) Entry {
	f := r.Fields
	in := Institution{Code: r.Code, Name: f["name"], Kana: f["kana"], Address: f["address"], Phone: f["phone"], Category: f["category"],
		PrefectureCode: f["prefectureCode"], MunicipalityCode: f["municipalityCode"], HealthCenterCode: f["healthCenterCode"]}
	lat, errLat := strconv.ParseFloat(f["latitude"], 64)
	lon, errLon := strconv.ParseFloat(f["longitude"], 64)
	if errLat == nil && errLon == nil {
		in.Latitude, in.Longitude = &lat, &lon
	}
	return Entry{Institution: in, NameKey: Fold(in.Name), KanaKey: Fold(in.Kana)}
}

// Rank is the read model's default-order key of an institution with
// covidAvailable beds: more beds first, then the code.
func Rank(covidAvailable int64, code string) string {
	return strconv.FormatInt(999999-min(max(covidAvailable, 0), 999999)+1000000, 10)[1:] + "#" + code
}

// DistanceKm is the great-circle distance between two points (haversine,
// on a sphere of the Earth's mean radius).
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}
