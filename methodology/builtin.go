package methodology

import (
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// Builtin returns a new Registry holding carbonkit's built-in catalog (listed
// in the package documentation and CATALOG.md). Each call builds a fresh
// Registry, so a host may register its own versions into it without
// affecting any other caller.
//
// The catalog's factors are illustrative public defaults, each citing its
// source and saying in its Note how far carbonkit has checked it. A programme
// that issues points people value should register its own approved versions
// (its own factors, endorsed by whoever certifies its programme) in a Registry
// from New, rather than rely on these.
//
// Builtin panics only if the catalog itself is invalid, a bug that its tests
// rule out; it takes no input.
func Builtin() *Registry {
	r := New()
	ms := []func() (Methodology, error){
		noCutlery, boxReuse, eWaybill, secondhand, efficientProduct,
		func() (Methodology, error) { return transport("bus") },
		func() (Methodology, error) { return transport("metro") },
		func() (Methodology, error) { return transport("bicycle") },
		func() (Methodology, error) { return transport("walk") },
		electricitySaving,
	}
	for _, build := range ms {
		m, err := build()
		if err == nil {
			err = r.Register(m)
		}
		if err != nil {
			panic("methodology: built-in catalog is invalid: " + err.Error())
		}
	}
	return r
}

// catalogStart is when every built-in version takes effect: 2024-01-01 in
// China Standard Time.
func catalogStart() time.Time {
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
}

// num parses a decimal literal of the catalog.
func num(s string) decimal.Decimal {
	d, err := dec.Parse(s)
	if err != nil {
		panic("methodology: bad catalog literal " + s)
	}
	return d
}

// qty is a catalog quantity literal.
func qty(v string, u carbon.Unit) carbon.Quantity {
	q, err := carbon.NewQuantity(num(v), u)
	if err != nil {
		panic("methodology: bad catalog unit " + string(u))
	}
	return q
}

// gridFactor is China's national grid average emission factor.
func gridFactor() Factor {
	return Factor{
		ID: "grid.cn", Version: "2022",
		Description: "national grid average CO2 emission factor of mainland China",
		Value:       num("0.5703"), Numerator: carbon.Tonne, Denominator: carbon.MegawattHour, Gas: CO2,
		DataYear: 2022,
		Source: Source{
			Organisation: "Ministry of Ecology and Environment of the People's Republic of China (MEE)",
			Document:     "Notice on greenhouse gas emission reporting by power generation enterprises for 2023-2025 (Huan Ban Qi Hou Han [2023] No. 43): national grid average emission factor 0.5703 tCO2/MWh",
			URL:          "https://www.mee.gov.cn/",
		},
		Note: "Figure as cited from the notice; carbonkit has not re-checked it against the published text. CO2 only, which understates a CO2e baseline (conservative here, where it is only used for BE). MEE and the National Bureau of Statistics publish newer national and provincial electricity factors from time to time; register a version with the factor your programme's rules require.",
	}
}

func noCutlery() (Methodology, error) {
	return NewDeclarative(Spec{
		ID: "carbonkit.food.no-cutlery", Version: "2024.1", Scenario: "food.no-cutlery",
		Title:  "Food-delivery order placed without disposable cutlery",
		Status: Active, ValidFrom: catalogStart(),
		Parameters: []Parameter{
			{Name: "orders", Description: "orders in this checkout placed with the no-cutlery option", Dimension: carbon.DimCount, Monitoring: Monitored},
		},
		Conditions: []Condition{
			{ID: "orders-range", Description: "a checkout of 1 to 10 orders", Kind: QuantityRange, Quantity: "orders",
				Min: AtLeast(qty("1", carbon.Order)), Max: AtMost(qty("10", carbon.Order))},
			{ID: "no-cutlery", Description: "the order was placed with the no-cutlery option", Kind: AttributeIn, Attribute: "cutlery", Values: []string{"none"}},
		},
		Factors: []Factor{{
			ID: "cutlery-set", Version: "2024.1",
			Description: "cradle-to-grave emissions of one disposable cutlery set (spoon, chopsticks, napkin, bag)",
			Value:       num("30"), Numerator: carbon.Gram, Denominator: carbon.Order, Gas: CO2e,
			DataYear: 2023, Uncertainty: num("0.3"),
			Source: Source{
				Organisation: "Ele.me (Alibaba local services)",
				Document:     "Blue Planet programme public totals for cutlery-free orders (e.g. 16 million disposable sets saved in its first half year, as reported by the Shanghai Commerce Commission)",
			},
			Note: "Illustrative: the platforms' public totals give counts of sets avoided, not an audited per-set footprint; 30 g CO2e is an order-of-magnitude estimate for a polypropylene spoon, wooden chopsticks, napkin and bag. Replace with an approved figure.",
		}},
	}, Formula{BE: []Term{{Quantity: "orders", Factors: []string{"cutlery-set"}}}})
}

func boxReuse() (Methodology, error) {
	return NewDeclarative(Spec{
		ID: "carbonkit.logistics.box-reuse", Version: "2024.1", Scenario: "logistics.box-reuse",
		Title:  "Delivery box handed back for reuse",
		Status: Active, ValidFrom: catalogStart(),
		Parameters: []Parameter{
			{Name: "boxes", Description: "cardboard boxes handed back at a collection point", Dimension: carbon.DimCount, Monitoring: Monitored},
		},
		Conditions: []Condition{
			{ID: "boxes-range", Description: "1 to 50 boxes per hand-back", Kind: QuantityRange, Quantity: "boxes",
				Min: AtLeast(qty("1", carbon.Box)), Max: AtMost(qty("50", carbon.Box))},
		},
		Factors: []Factor{{
			ID: "box-reuse", Version: "2019",
			Description: "emissions avoided when a cardboard delivery box is reused once",
			Value:       num("37"), Numerator: carbon.Gram, Denominator: carbon.Box, Gas: CO2e,
			DataYear: 2019,
			Source: Source{
				Organisation: "Cainiao Network",
				Document:     "National Carton Recycling Day (20 November 2019): \"each box reused once reduces carbon emissions by 37 g\", as reported by China E-commerce Logistics (2019-11-28)",
			},
			Note: "Public figure as reported in the press; the underlying assessment (attributed to the China Environmental United Certification Center) is not published in full, so treat it as illustrative.",
		}},
	}, Formula{BE: []Term{{Quantity: "boxes", Factors: []string{"box-reuse"}}}})
}

func eWaybill() (Methodology, error) {
	illustrative := Source{
		Organisation: "carbonkit maintainers (illustrative estimate)",
		Document:     "Paper mass of a waybill times a cradle-to-grave footprint of about 1.3 kg CO2e per kg of paper; context: Cainiao's public statements on replacing five-part paper waybills with electronic ones",
	}
	return NewDeclarative(Spec{
		ID: "carbonkit.logistics.e-waybill", Version: "2024.1", Scenario: "logistics.e-waybill",
		Title:  "Parcel shipped with an electronic waybill instead of a five-part paper one",
		Status: Active, ValidFrom: catalogStart(),
		Parameters: []Parameter{
			{Name: "waybills", Description: "waybills issued electronically", Dimension: carbon.DimCount, Monitoring: Monitored},
		},
		Conditions: []Condition{
			{ID: "waybills-range", Description: "1 to 100 waybills per event", Kind: QuantityRange, Quantity: "waybills",
				Min: AtLeast(qty("1", carbon.Sheet)), Max: AtMost(qty("100", carbon.Sheet))},
		},
		Factors: []Factor{
			{
				ID: "paper-waybill", Version: "2024.1",
				Description: "a five-part carbonless paper waybill (about 20 g of paper)",
				Value:       num("26"), Numerator: carbon.Gram, Denominator: carbon.Sheet, Gas: CO2e,
				DataYear: 2023, Source: illustrative, Uncertainty: num("0.5"),
				Note: "Illustrative: 20 g × 1.3 g CO2e/g.",
			},
			{
				ID: "thermal-label", Version: "2024.1",
				Description: "the single thermal label an electronic waybill is printed on (about 3 g of paper)",
				Value:       num("4"), Numerator: carbon.Gram, Denominator: carbon.Sheet, Gas: CO2e,
				DataYear: 2023, Source: illustrative, Uncertainty: num("0.5"),
				Note: "Illustrative: 3 g × 1.3 g CO2e/g, rounded up (project emissions are rounded against the claim).",
			},
		},
	}, Formula{
		BE: []Term{{Quantity: "waybills", Factors: []string{"paper-waybill"}}},
		PE: []Term{{Quantity: "waybills", Factors: []string{"thermal-label"}}},
	})
}

func efficientProduct() (Methodology, error) {
	return NewDeclarative(Spec{
		ID: "carbonkit.retail.efficient-product", Version: "2024.1", Scenario: "retail.efficient-product",
		Title:  "Purchase of a grade-1 energy-efficiency room air conditioner",
		Status: Active, ValidFrom: catalogStart(),
		Parameters: []Parameter{
			{Name: "items", Description: "units bought", Dimension: carbon.DimCount, Monitoring: Monitored},
			{Name: "grid.cn", Description: "grid emission factor", Dimension: carbon.DimMass, Monitoring: Fixed},
		},
		Conditions: []Condition{
			{ID: "items-range", Description: "1 to 5 units per purchase", Kind: QuantityRange, Quantity: "items",
				Min: AtLeast(qty("1", carbon.Item)), Max: AtMost(qty("5", carbon.Item))},
			{ID: "category", Description: "a room air conditioner", Kind: AttributeIn, Attribute: "category", Values: []string{"air-conditioner"}},
			{ID: "grade-1", Description: "China Energy Label grade 1", Kind: AttributeIn, Attribute: "efficiency_grade", Values: []string{"1"}},
		},
		Factors: []Factor{
			{
				ID: "ac-first-year-saving", Version: "2024.1",
				Description: "electricity a grade-1 room air conditioner saves in its first year over a grade-3 one",
				Value:       num("150"), Numerator: carbon.KilowattHour, Denominator: carbon.Item,
				DataYear: 2023, Uncertainty: num("0.4"),
				Source: Source{
					Organisation: "State Administration for Market Regulation / Standardization Administration of China",
					Document:     "GB 21455-2019 Minimum allowable values of energy efficiency and energy efficiency grades for room air conditioners (grade 1 and grade 3 APF)",
				},
				Note: "Illustrative: derived from the gap between grade-1 and grade-3 annual performance factors at a typical household cooling and heating load; only the first year is credited, at purchase, which is conservative.",
			},
			gridFactor(),
		},
	}, Formula{BE: []Term{{Quantity: "items", Factors: []string{"ac-first-year-saving", "grid.cn"}}}})
}

// transportMode is one low-carbon mode: its longest credited trip, and its
// own per-passenger-km factor ("" when it has no project emissions).
type transportMode struct {
	max    string // km
	factor string // g CO2e per passenger-km
	desc   string
}

func transportModes(mode string) transportMode {
	switch mode {
	case "bus":
		return transportMode{"100", "100", "average local bus"}
	case "metro":
		return transportMode{"100", "30", "metro or light rail"}
	case "bicycle":
		return transportMode{"30", "", "bicycle"}
	}
	return transportMode{"10", "", "walking"}
}

func transport(mode string) (Methodology, error) {
	tm := transportModes(mode)
	desnz := Source{
		Organisation: "UK Department for Energy Security and Net Zero (DESNZ)",
		Document:     "Greenhouse gas reporting: conversion factors 2023, passenger transport",
		URL:          "https://www.gov.uk/government/collections/government-conversion-factors-for-company-reporting",
	}
	s := Spec{
		ID: "carbonkit.transport." + mode, Version: "2024.1", Scenario: carbon.Scenario("transport." + mode),
		Title:  "A trip by " + tm.desc + " instead of by private car",
		Status: Active, ValidFrom: catalogStart(),
		Parameters: []Parameter{
			{Name: "distance", Description: "the trip's distance", Dimension: carbon.DimDistance, Monitoring: Monitored},
		},
		Conditions: []Condition{
			{ID: "distance-range", Description: "a trip longer than 0 km and at most " + tm.max + " km", Kind: QuantityRange, Quantity: "distance",
				Min: Above(qty("0", carbon.Kilometre)), Max: AtMost(qty(tm.max, carbon.Kilometre))},
		},
		Factors: []Factor{
			{
				ID: "car", Version: "2023",
				Description: "average car, per vehicle-km",
				Value:       num("170"), Numerator: carbon.Gram, Denominator: carbon.Kilometre, Gas: CO2e,
				DataYear: 2023, Source: desnz, Uncertainty: num("0.2"),
				Note: "Illustrative proxy: a UK average-car figure, rounded; not a Chinese fleet factor.",
			},
			{
				ID: "car-occupancy", Version: "2024.1",
				Description: "one passenger's share of a car's emissions",
				Value:       num("0.7"), DataYear: 2023,
				Source: Source{Organisation: "carbonkit maintainers (illustrative)", Document: "Assumed average car occupancy of about 1.4 persons, share rounded down"},
				Note:   "Illustrative: 1 / 1.4 ≈ 0.71, rounded down so that the baseline is not overstated.",
			},
		},
	}
	f := Formula{BE: []Term{{Quantity: "distance", Factors: []string{"car", "car-occupancy"}}}}
	if tm.factor != "" {
		s.Factors = append(s.Factors, Factor{
			ID: mode, Version: "2023",
			Description: tm.desc + ", per passenger-km",
			Value:       num(tm.factor), Numerator: carbon.Gram, Denominator: carbon.Kilometre, Gas: CO2e,
			DataYear: 2023, Source: desnz, Uncertainty: num("0.2"),
			Note: "Illustrative proxy: a UK figure, rounded up (project emissions are rounded against the claim); Chinese fleets, increasingly electric, differ.",
		})
		f.PE = []Term{{Quantity: "distance", Factors: []string{mode}}}
	}
	return NewDeclarative(s, f)
}

func electricitySaving() (Methodology, error) {
	return NewDeclarative(Spec{
		ID: "carbonkit.enterprise.electricity-saving", Version: "2024.1", Scenario: "enterprise.electricity-saving",
		Title:  "An enterprise's metered electricity saving",
		Status: Active, ValidFrom: catalogStart(),
		Parameters: []Parameter{
			{Name: "electricity_saved", Description: "metered consumption below the agreed baseline for the period", Dimension: carbon.DimEnergy, Monitoring: Monitored},
			{Name: "grid.cn", Description: "grid emission factor", Dimension: carbon.DimMass, Monitoring: Fixed},
		},
		Conditions: []Condition{
			{ID: "saving-range", Description: "a saving above 0 kWh and at most 10 GWh per report", Kind: QuantityRange, Quantity: "electricity_saved",
				Min: Above(qty("0", carbon.KilowattHour)), Max: AtMost(qty("10000", carbon.MegawattHour))},
		},
		Factors: []Factor{gridFactor()},
	}, Formula{BE: []Term{{Quantity: "electricity_saved", Factors: []string{"grid.cn"}}}})
}
