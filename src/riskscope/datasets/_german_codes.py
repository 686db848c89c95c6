"""Column names and the code book of UCI Statlog German credit (``german.data``).

The names are ours; the category texts follow the UCI attribute description
(``german.doc.txt``), with whitespace tidied and ``...`` standing for the attribute.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "NUMERIC", "CODES", "CLASS_CODES", "TARGET", "DESCRIPTIONS"]

#: The 20 attributes in file order.
COLUMNS: tuple[str, ...] = (
    "checking_status",
    "duration_months",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment_since",
    "installment_rate",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age_years",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
)

#: What each attribute means (UCI attribute description, in our words).
DESCRIPTIONS: dict[str, str] = {
    "checking_status": "status of the existing checking account, in Deutsche Mark (DM)",
    "duration_months": "duration of the credit in months",
    "credit_history": "credit history: credits taken and paid back at this and other banks",
    "purpose": "what the credit is for (car, furniture, education, business, ...)",
    "credit_amount": "amount of the credit in Deutsche Mark",
    "savings": "savings account and bonds, in Deutsche Mark",
    "employment_since": "time in the present employment",
    "installment_rate": "installment rate in percent of disposable income (1 to 4)",
    "personal_status_sex": "personal status (marital) and sex, one attribute in the data",
    "other_debtors": "other debtors or guarantors of the credit",
    "residence_since": "years at the present residence (1 to 4)",
    "property": "most valuable property (real estate, savings agreement, car, none)",
    "age_years": "age in years",
    "other_installment_plans": "other installment plans (bank, stores, none)",
    "housing": "housing (rent, own, for free)",
    "existing_credits": "number of existing credits at this bank",
    "job": "job category (unskilled, skilled, management, ...)",
    "people_liable": "number of people the applicant is liable to provide maintenance for",
    "telephone": "whether a telephone is registered under the applicant's name",
    "foreign_worker": "whether the applicant is a foreign worker",
}

#: The seven numerical attributes; every other attribute is an A-code.
NUMERIC: frozenset[str] = frozenset(
    {
        "duration_months",
        "credit_amount",
        "installment_rate",
        "residence_since",
        "age_years",
        "existing_credits",
        "people_liable",
    }
)

TARGET = "class"

#: Raw class code -> label; the cost matrix in german.doc.txt weighs a missed "bad" 5:1.
CLASS_CODES: dict[str, str] = {"1": "good", "2": "bad"}

#: A-code -> readable text per categorical attribute, in the order german.doc.txt lists them
#: (that order becomes the category order, so decoded frames sort like the documentation).
CODES: dict[str, dict[str, str]] = {
    "checking_status": {
        "A11": "... < 0 DM",
        "A12": "0 <= ... < 200 DM",
        "A13": "... >= 200 DM / salary assignments for at least 1 year",
        "A14": "no checking account",
    },
    "credit_history": {
        "A30": "no credits taken / all credits paid back duly",
        "A31": "all credits at this bank paid back duly",
        "A32": "existing credits paid back duly till now",
        "A33": "delay in paying off in the past",
        "A34": "critical account / other credits existing (not at this bank)",
    },
    "purpose": {
        "A40": "car (new)",
        "A41": "car (used)",
        "A42": "furniture/equipment",
        "A43": "radio/television",
        "A44": "domestic appliances",
        "A45": "repairs",
        "A46": "education",
        # Listed by UCI as "(vacation - does not exist?)"; it never occurs in the data.
        "A47": "vacation",
        "A48": "retraining",
        "A49": "business",
        "A410": "others",
    },
    "savings": {
        "A61": "... < 100 DM",
        "A62": "100 <= ... < 500 DM",
        "A63": "500 <= ... < 1000 DM",
        "A64": "... >= 1000 DM",
        "A65": "unknown / no savings account",
    },
    "employment_since": {
        "A71": "unemployed",
        "A72": "... < 1 year",
        "A73": "1 <= ... < 4 years",
        "A74": "4 <= ... < 7 years",
        "A75": "... >= 7 years",
    },
    "personal_status_sex": {
        "A91": "male : divorced/separated",
        "A92": "female : divorced/separated/married",
        "A93": "male : single",
        "A94": "male : married/widowed",
        "A95": "female : single",
    },
    "other_debtors": {
        "A101": "none",
        "A102": "co-applicant",
        "A103": "guarantor",
    },
    "property": {
        "A121": "real estate",
        "A122": "building society savings agreement / life insurance",
        "A123": "car or other, not in savings",
        "A124": "unknown / no property",
    },
    "other_installment_plans": {
        "A141": "bank",
        "A142": "stores",
        "A143": "none",
    },
    "housing": {
        "A151": "rent",
        "A152": "own",
        "A153": "for free",
    },
    "job": {
        "A171": "unemployed / unskilled - non-resident",
        "A172": "unskilled - resident",
        "A173": "skilled employee / official",
        "A174": "management / self-employed / highly qualified employee / officer",
    },
    "telephone": {
        "A191": "none",
        "A192": "yes, registered under the customer's name",
    },
    "foreign_worker": {
        "A201": "yes",
        "A202": "no",
    },
}
