package services

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// MotoData is what moto_server has delivered (its /moto-api/data.json):
// the mails SES sent and the SMS SNS sent, oldest first.
type MotoData struct {
	SES struct {
		Message []struct {
			Body         string `json:"body"`
			Subject      string `json:"subject"`
			Destinations struct {
				ToAddresses []string `json:"ToAddresses"`
			} `json:"destinations"`
		} `json:"Message"`
	} `json:"ses"`
	SNS struct {
		SMS []struct {
			Message     string `json:"message"`
			PhoneNumber string `json:"phone_number"`
		} `json:"SMS"`
	} `json:"sns"`
}

// ReadMoto reads what the moto_server at endpoint has delivered.
func ReadMoto(ctx context.Context, endpoint string) (MotoData, error) {
	var d MotoData
	url := endpoint + "/moto-api/data.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return d, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return d, fmt.Errorf("read %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return d, fmt.Errorf("read %s: %s", url, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		return d, fmt.Errorf("read %s: %w", url, err)
	}
	return d, nil
}
