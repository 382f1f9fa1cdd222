//! Employees, laptops and refresh requests, and how a laptop's age and
//! warranty are told.

use chrono::{Datelike as _, NaiveDate};
use serde::{Deserialize, Serialize};

/// An employee as the directory knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    /// The employee id (ServiceNow: `employee_number`, else the user's email).
    #[serde(rename = "employee_id")]
    pub id: String,
    pub name: String,
    pub email: String,
    /// The region (`EMEA`, `Americas`, `Asia-Pacific`): it selects the
    /// laptop catalogue of the knowledge base.
    pub location: String,
    #[serde(default)]
    pub laptop: Option<Laptop>,
    /// The backend's own key for the employee (ServiceNow: `sys_user`'s
    /// `sys_id`; demo: the id).
    #[serde(skip)]
    pub record_ref: String,
}

/// The laptop assigned to an employee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Laptop {
    pub model: String,
    pub serial_number: String,
    pub purchase_date: NaiveDate,
    #[serde(default)]
    pub warranty_expiry: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarrantyStatus {
    Active,
    Expired,
    Unknown,
}

impl std::fmt::Display for WarrantyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WarrantyStatus::Active => "Active",
            WarrantyStatus::Expired => "Expired",
            WarrantyStatus::Unknown => "Unknown",
        })
    }
}

impl Laptop {
    /// Active through the expiry day itself.
    pub fn warranty_status(&self, today: NaiveDate) -> WarrantyStatus {
        match self.warranty_expiry {
            Some(expiry) if expiry >= today => WarrantyStatus::Active,
            Some(_) => WarrantyStatus::Expired,
            None => WarrantyStatus::Unknown,
        }
    }
}

/// "N years and M months" from `since` to `today` (whole months).
pub fn age_text(since: NaiveDate, today: NaiveDate) -> String {
    let mut months =
        (today.year() - since.year()) * 12 + today.month() as i32 - since.month() as i32;
    if today.day() < since.day() {
        months -= 1;
    }
    let months = months.max(0);
    let (years, months) = (months / 12, months % 12);
    let plural = |n: i32, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    format!("{} and {}", plural(years, "year"), plural(months, "month"))
}

/// What an employee asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaptopOrder {
    pub preferred_model: String,
    pub business_justification: String,
}

/// A laptop refresh request (a ServiceNow catalog request, or a demo one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshRequest {
    /// The request number (`REQ...`).
    pub number: String,
    pub status: String,
    pub priority: Option<String>,
    pub preferred_model: String,
    pub business_justification: Option<String>,
    pub created: Option<String>,
    pub expected_completion: Option<String>,
    pub assigned_group: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn age_counts_whole_months() {
        assert_eq!(
            age_text(date("2021-03-15"), date("2026-12-01")),
            "5 years and 8 months"
        );
        assert_eq!(
            age_text(date("2025-11-01"), date("2026-12-01")),
            "1 year and 1 month"
        );
        assert_eq!(
            age_text(date("2026-11-30"), date("2026-12-01")),
            "0 years and 0 months"
        );
    }

    #[test]
    fn warranty_is_active_through_its_last_day() {
        let laptop = Laptop {
            model: "m".into(),
            serial_number: "s".into(),
            purchase_date: date("2023-01-01"),
            warranty_expiry: Some(date("2026-01-01")),
        };
        assert_eq!(
            laptop.warranty_status(date("2026-01-01")),
            WarrantyStatus::Active
        );
        assert_eq!(
            laptop.warranty_status(date("2026-01-02")),
            WarrantyStatus::Expired
        );
    }
}
