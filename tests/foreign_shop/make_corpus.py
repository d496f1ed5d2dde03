"""Writes the foreign shop corpus: another shop's CSV export, its catalogue, and what clean must be.

The shop ("Nordlicht Haus & Garten") exports semicolon-separated CSV with its own column order and
names in any case, two extra columns, numeric customer and product ids, ISO country codes and native
names, compact registration dates, ISO timestamps with zones for orders, English month names for
shipping, prices with currency signs and European grouping, and quantities written as ``2.0``.
The expected clean values are computed here from the values chosen, with this file's own tables
(stdlib only), never with the pipeline's cleaner: the test compares two independent answers.

Run ``python tests/foreign_shop/make_corpus.py`` to write the files next to it (deterministic).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261203
ORDERS = 480

# ProductID, name, category, price: the shop's own catalogue.
PRODUCTS = [
    (5001, "Espresso Machine Barista", "Kitchen", 349.0),
    (5002, "Cast Iron Skillet", "Kitchen", 39.5),
    (5003, "Chef Knife Santoku", "Kitchen", 64.9),
    (5004, "Garden Hose 25m", "Garden", 29.99),
    (5005, "Cordless Hedge Trimmer", "Garden", 1249.0),
    (5006, "Raised Bed Cedar", "Garden", 189.0),
    (5007, "Linen Duvet Cover", "Bedroom", 89.0),
    (5008, "Memory Foam Pillow", "Bedroom", 45.0),
    (5009, "Floor Lamp Arc", "Living", 159.0),
    (5010, "Wool Rug Berber", "Living", 1099.0),
    (5011, "Bathroom Scale Smart", "Bath", 49.95),
    (5012, "Towel Set Organic", "Bath", 34.0),
]
# The shop's way of writing a country -> (canonical name, UN M49 region), and the kind of form.
COUNTRY_FORMS = {
    "DE": ("Germany", "Europe", "alpha2_country"),
    "DEU": ("Germany", "Europe", "alpha3_country"),
    "Deutschland": ("Germany", "Europe", "native_country_name"),
    "AT": ("Austria", "Europe", "alpha2_country"),
    "Österreich": ("Austria", "Europe", "native_country_name"),
    "CH": ("Switzerland", "Europe", "alpha2_country"),
    "NLD": ("Netherlands", "Europe", "alpha3_country"),
    "Holland": ("Netherlands", "Europe", "alias_country"),
    "UK": ("United Kingdom", "Europe", "alias_country"),
    "GBR": ("United Kingdom", "Europe", "alpha3_country"),
    "USA": ("United States", "Americas", "alias_country"),
    "United States of America": ("United States", "Americas", "official_country_name"),
    "fr": ("France", "Europe", "alpha2_country"),
    "España": ("Spain", "Europe", "native_country_name"),
    "JPN": ("Japan", "Asia", "alpha3_country"),
    "Brasil": ("Brazil", "Americas", "native_country_name"),
}
FIRST = ["Anna", "Lukas", "Mia", "Jonas", "Lea", "Elias", "Sofia", "Noah", "Emma", "Felix"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"]
STREETS = ["Lindenstraße", "Hauptstraße", "Gartenweg", "Bahnhofstraße", "Schulstraße"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
AGE_BANDS = [(18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"), (65, "65+")]
COLUMNS = [
    "order_no", "kunde_nr", "ROW_KEY", "customerid", "Name", "age", "country", "registrationdate",
    "orderdate", "productid", "ProductName", "category", "price", "quantity", "totalamount",
    "shippingaddress", "shippingdate", "channel",
]  # fmt: skip


def age_group(age: int) -> str:
    return [label for low, label in AGE_BANDS if age >= low][-1]


def money(amount: float, rnd: random.Random) -> tuple[str, str]:
    """`amount` as this shop writes it, and the kind of form."""
    cents = f"{amount:.2f}"
    whole, frac = cents.split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    forms = [
        (f"€{grouped},{frac}", "currency_price"),
        (f"{grouped},{frac} €", "currency_price"),
        (f"EUR {int(whole):,}.{frac}", "currency_code_price"),
        (f"{int(whole):,}.{frac}".replace(",", " "), "grouped_number"),
        (f"{whole},{frac}", "decimal_comma"),
    ]
    if amount >= 1000:
        forms.append((f"{grouped},{frac}", "grouped_number"))
    return rnd.choice(forms)


def order_moment(day: dt.date, rnd: random.Random) -> tuple[str, dt.date, str]:
    """An ISO timestamp with a zone on `day` (local), its UTC date, and the kind of form."""
    hour, minute = rnd.randint(0, 23), rnd.randint(0, 59)
    offset = rnd.choice([0, 1, 2, -5, 9])
    local = dt.datetime.combine(day, dt.time(hour, minute), dt.timezone(dt.timedelta(hours=offset)))
    utc_day = local.astimezone(dt.UTC).date()
    if offset == 0 and rnd.random() < 0.5:
        return local.strftime("%Y-%m-%dT%H:%M:%SZ"), utc_day, "iso_timestamp_utc"
    return local.isoformat(), utc_day, "iso_timestamp_zone"


def shipping_text(day: dt.date, rnd: random.Random) -> str:
    month = MONTHS[day.month - 1]
    return rnd.choice(
        [f"{month} {day.day}, {day.year}", f"{day.day} {month[:3]} {day.year}",
         f"{day.day:02d}-{month[:3]}-{day.year}"]
    )  # fmt: skip


def build(rnd: random.Random) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict]]:
    customers = []
    for n in range(60):
        country = rnd.choice(list(COUNTRY_FORMS))
        canonical = COUNTRY_FORMS[country][0]
        forms = [c for c, v in COUNTRY_FORMS.items() if v[0] == canonical]
        customers.append({
            "id": 70_000 + n * 7,
            "name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
            "age": rnd.randint(18, 90),
            "forms": forms,
            "registered": dt.date(2021, 1, 1) + dt.timedelta(days=rnd.randint(0, 800)),
            "address": f"{rnd.choice(STREETS)} {rnd.randint(1, 200)}, {rnd.randint(10000, 99999)}",
        })  # fmt: skip
    rows, expected, forms_of = [], [], []
    for i in range(ORDERS):
        c = rnd.choice(customers)
        pid, pname, category, price = rnd.choice(PRODUCTS)
        quantity = rnd.randint(1, 4)
        ordered = c["registered"] + dt.timedelta(days=rnd.randint(1, 400))
        order_text, order_day, order_kind = order_moment(ordered, rnd)
        shipped = ordered + dt.timedelta(days=rnd.randint(1, 10))  # after the UTC day too
        country = rnd.choice(c["forms"])
        price_text, price_kind = money(price, rnd)
        total_text, _ = money(round(quantity * price, 2), rnd)
        key = f"NL-{i:06d}"
        kinds = ["numeric_id", "compact_date", order_kind, "month_name_date",
                 COUNTRY_FORMS[country][2], price_kind]  # fmt: skip
        quantity_text = str(quantity)
        if rnd.random() < 0.4:
            quantity_text = f"{quantity}.0"
            kinds.append("whole_float_quantity")
        row = {
            "order_no": str(900_000 + i), "kunde_nr": str(c["id"]), "ROW_KEY": key,
            "customerid": str(c["id"]), "Name": c["name"], "age": str(c["age"]),
            "country": country, "registrationdate": c["registered"].strftime("%Y%m%d"),
            "orderdate": order_text, "productid": str(pid),
            "ProductName": pname.upper() if rnd.random() < 0.2 else pname,
            "category": category.lower() if rnd.random() < 0.2 else category,
            "price": price_text, "quantity": quantity_text, "totalamount": total_text,
            "shippingaddress": c["address"], "shippingdate": shipping_text(shipped, rnd),
            "channel": rnd.choice(["web", "app", "store"]),
        }  # fmt: skip
        canonical, region, _ = COUNTRY_FORMS[country]
        clean = {
            "row_key": key, "CustomerID": str(c["id"]), "Name": c["name"], "Age": c["age"],
            "AgeGroup": age_group(c["age"]), "Country": canonical, "Region": region,
            "RegistrationDate": c["registered"].isoformat(), "OrderDate": order_day.isoformat(),
            "Quantity": quantity, "TotalAmount": round(quantity * price, 2),
            "ProductID": str(pid), "ProductName": pname, "Category": category, "Price": price,
            "ShippingAddress": c["address"], "ShippingDate": shipped.isoformat(),
            "quality_flags": "", "reason": "",
        }  # fmt: skip
        rows.append(row)
        expected.append(clean)
        forms_of.append({"row_key": key, "forms": " ".join(kinds)})
    # Gaps the shop's other rows fill: a customer's country and age from its other orders (every
    # 23rd row, when the customer has another one), and a missing address that keeps the sale.
    orders_of: dict[str, int] = {}
    for row in rows:
        orders_of[row["customerid"]] = orders_of.get(row["customerid"], 0) + 1
    for i, (row, clean, form) in enumerate(zip(rows, expected, forms_of, strict=True)):
        if i % 23 == 5 and orders_of[row["customerid"]] > 1:
            row.update(country="", age="n/a")
            written = [k for k in form["forms"].split() if "country" not in k]
            form["forms"] = " ".join([*written, "country_from_customer", "age_from_customer"])
        elif i % 29 == 7:
            row["shippingaddress"] = " "
            clean.update(ShippingAddress="", quality_flags="missing_shipping_address")
            form["forms"] += " missing_address_kept"
    # What no rule can decide: quarantined, with the reason the shop's data team gets back.
    refused = [
        ("orderdate", "03/05/2024", "ambiguous_order_date"),
        ("price", "1,234,5", "ambiguous_price"),
        ("productid", "5999", "unknown_product_id"),
        ("country", "Korea", "ambiguous_country"),
        ("orderdate", "2024-02-30T10:00:00Z", "impossible_order_date"),
    ]
    for j, (column, value, reason) in enumerate(refused):
        row, clean = dict(rows[j]), dict(expected[j])
        key = f"NL-Q{j:05d}"
        row.update({"ROW_KEY": key, column: value, "customerid": f"99{j}", "kunde_nr": f"99{j}"})
        if column == "price":
            row["totalamount"] = ""
        rows.append(row)
        expected.append({**{k: "" for k in clean}, "row_key": key, "reason": reason})
    return rows, expected, forms_of


def main() -> None:
    rnd = random.Random(SEED)
    rows, expected, forms = build(rnd)
    with (HERE / "orders.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    with (HERE / "catalogue.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["ProductID", "ProductName", "Category", "Price"])
        writer.writerows(PRODUCTS)
    with (HERE / "expected.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, list(expected[0]))
        writer.writeheader()
        writer.writerows(expected)
    with (HERE / "forms.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, ["row_key", "forms"])
        writer.writeheader()
        writer.writerows(forms)


if __name__ == "__main__":
    main()
