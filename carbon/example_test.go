package carbon_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
)

func ExampleParseMass() {
	box, _ := carbon.ParseMass("37g")    // one reused delivery box
	trip, _ := carbon.ParseMass("1.2kg") // a metro ride instead of a car
	total := box.Mul(decimal.NewFromInt(3)).Add(trip)
	fmt.Println(total)

	mg, _ := total.IntIn(carbon.Milligram, carbon.TowardZero)
	fmt.Println(mg, "mg")

	_, err := carbon.ParseMass("3 km")
	fmt.Println(errors.Is(err, carbon.ErrDimensionMismatch))
	// Output:
	// 1.311kg
	// 1311000 mg
	// true
}

func ExampleQuantity_Convert() {
	q, _ := carbon.ParseQuantity("6.4 km")
	m, _ := q.Convert(carbon.Metre)
	fmt.Println(m)

	_, err := q.Convert(carbon.Kilogram)
	fmt.Println(err)
	// Output:
	// 6400 m
	// carbon: convert km (distance) to kg (mass): dimension mismatch
}

func ExampleActivity_Validate() {
	distance, _ := carbon.ParseQuantity("6.4 km")
	a := carbon.Activity{
		ID:         "trip-20260815-0001",
		Partner:    "metro",
		User:       "u-42",
		Scenario:   "transport.metro",
		OccurredAt: time.Date(2026, 8, 15, 8, 5, 0, 0, time.UTC),
		Region:     carbon.Guangdong,
		Quantities: map[string]carbon.Quantity{"distance": distance},
	}
	fmt.Println(a.Validate())

	a.ID, a.Region = "", "CN-XX"
	var ve *carbon.ValidationError
	if errors.As(a.Validate(), &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// <nil>
	// id: is empty
	// region: "CN-XX" is not an ISO 3166-2:CN province-level code
}

func ExamplePoints_Add() {
	balance := carbon.Points(9_223_372_036_854_775_800)
	_, err := balance.Add(100)
	fmt.Println(errors.Is(err, carbon.ErrOverflow))
	// Output:
	// true
}
