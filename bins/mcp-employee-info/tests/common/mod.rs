//! What the employee-info tests share.

/// Lines of the answer about Alice Johnson (1001) and her laptop: the
/// demo directory and the fake ServiceNow (`test_support::fake_servicenow`)
/// hold the same employee.
pub const ALICE_ANSWER: &[&str] = &[
    "Employee Name: Alice Johnson",
    "Employee ID: 1001",
    "Employee Location: EMEA",
    "Laptop Model: Dell Latitude 7420",
    "Laptop Serial Number: DL7420-58231",
    "Laptop Purchase Date: 2021-03-15",
    "Laptop Warranty: Expired",
];
