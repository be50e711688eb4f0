"""Enrollment: Peer Support 101, applications, intakes, cohorts and attendance."""

SERVICE = "enrollment"
