-- PostgreSQL twin of ../006_availability_index.sql.
CREATE INDEX availability_by_day ON availability(weekday, start_min, end_min, provider_id);
CREATE INDEX provider_services_by_service ON provider_services(service_id, provider_id);
CREATE INDEX requests_by_time ON requests(start_at, end_at);
