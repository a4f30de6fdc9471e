package methodology

import "github.com/carbonkit/carbonkit/carbon"

// The second-hand resale methodology is Go-coded because which factors apply
// depends on the activity's attributes: BE = items × production.<category> ×
// substitution.<condition>. A resold item is assumed to displace a share of a
// new item's production (the substitution rate, lower for worn items); PE and
// LE are zero. Its tables are below; each entry becomes a factor of the Spec,
// so it is provenance-checked and digested like any other.

// secondhandCategory is one row of the production-emissions table.
type secondhandCategory struct {
	name  string // the "category" attribute
	value string // kg CO2e per item, cradle to gate
	year  int
	src   Source
	note  string
}

// secondhandCondition is one row of the substitution-rate table.
type secondhandCondition struct {
	name  string // the "condition" attribute
	value string // share of a new item's production displaced
}

func secondhandTables() ([]secondhandCategory, []secondhandCondition) {
	illustrativeFootprint := Source{
		Organisation: "carbonkit maintainers (illustrative compilation)",
		Document:     "Order-of-magnitude cradle-to-gate footprints compiled from manufacturers' public product environmental reports",
	}
	return []secondhandCategory{
			{"phone", "50", 2023, Source{
				Organisation: "Apple Inc.",
				Document:     "Product Environmental Report, iPhone 15 (September 2023): life-cycle total and production share",
				URL:          "https://www.apple.com/environment/",
			}, "Illustrative: production (manufacturing) share of a current smartphone's reported life-cycle footprint, rounded; not verified against the report by carbonkit. Replace with the host's approved figure."},
			{"laptop", "200", 2023, illustrativeFootprint, "Illustrative: typical production footprint of a 13-14 inch laptop in manufacturers' product carbon footprint reports (about 150-300 kg CO2e), rounded."},
			{"tablet", "80", 2023, illustrativeFootprint, "Illustrative: typical production footprint of a 10-11 inch tablet in manufacturers' reports, rounded."},
			{"clothing", "10", 2023, illustrativeFootprint, "Illustrative: one garment (shirt, trousers, dress), production stages only, rounded; garment studies range widely by fibre and mass."},
			{"book", "1.5", 2023, illustrativeFootprint, "Illustrative: one paperback book, paper and printing, rounded."},
		}, []secondhandCondition{
			{"like-new", "0.6"},
			{"good", "0.5"},
			{"fair", "0.3"},
		}
}

func secondhandSpec() Spec {
	substitutionSource := Source{
		Organisation: "carbonkit maintainers (illustrative)",
		Document:     "Conservative displacement rates for resold goods by condition; published reuse studies report displacement between about 0.3 and 0.8",
	}
	cats, conds := secondhandTables()
	s := Spec{
		ID:        "carbonkit.secondhand.resale",
		Version:   "2024.1",
		Scenario:  "secondhand.resale",
		Title:     "Second-hand resale of a used item (avoided production of a new one)",
		Status:    Active,
		ValidFrom: catalogStart(),
		Parameters: []Parameter{
			{Name: "items", Description: "items sold in this transaction", Dimension: carbon.DimCount, Monitoring: Monitored},
		},
		Formula: "BE = items × production.<category> × substitution.<condition>; PE = 0; LE = 0",
		// The footprints are coarse, so the claim is discounted by 10%, and
		// one listing earns at most a tonne.
		Conservativeness: Conservativeness{Discount: num("0.1"), Cap: carbon.Tonnes(num("1"))},
	}
	var catNames, condNames []string
	for _, c := range cats {
		catNames = append(catNames, c.name)
		s.Factors = append(s.Factors, Factor{
			ID: "production." + c.name, Version: "2024.1",
			Description: "cradle-to-gate production emissions of one new " + c.name,
			Value:       num(c.value), Numerator: carbon.Kilogram, Denominator: carbon.Item, Gas: CO2e,
			DataYear: c.year, Source: c.src, Uncertainty: num("0.3"), Note: c.note,
		})
	}
	for _, c := range conds {
		condNames = append(condNames, c.name)
		s.Factors = append(s.Factors, Factor{
			ID: "substitution." + c.name, Version: "2024.1",
			Description: "share of a new item's production displaced by a resold item in " + c.name + " condition",
			Value:       num(c.value), DataYear: 2023, Source: substitutionSource,
			Note: "Illustrative rate, deliberately at the low end of published ranges.",
		})
	}
	s.Conditions = []Condition{
		{ID: "items-range", Description: "one listing sells 1 to 20 items", Kind: QuantityRange, Quantity: "items",
			Min: AtLeast(qty("1", carbon.Item)), Max: AtMost(qty("20", carbon.Item))},
		{ID: "category-known", Description: "the item's category has a production factor", Kind: AttributeIn, Attribute: "category", Values: catNames},
		{ID: "condition-known", Description: "the item's condition has a substitution rate", Kind: AttributeIn, Attribute: "condition", Values: condNames},
	}
	return s
}

func secondhand() (Methodology, error) {
	spec := secondhandSpec()
	// Factor IDs by attribute value, built once rather than per activity.
	production, substitution := map[string]string{}, map[string]string{}
	cats, conds := secondhandTables()
	for _, c := range cats {
		production[c.name] = "production." + c.name
	}
	for _, c := range conds {
		substitution[c.name] = "substitution." + c.name
	}
	return Build(spec, func(w *Worksheet) error {
		// The conditions guarantee both attributes name a row; were one
		// missing, Term would report an undeclared factor.
		return w.Term(Baseline, "items", production[w.Attribute("category")], substitution[w.Attribute("condition")])
	})
}
