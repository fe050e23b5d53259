//! Integration tests: the real server over real HTTP, against a real Redis that each test
//! starts for itself: one `redis-server`, or with `REFTRACK_TEST_REDIS=cluster` a three-master
//! Redis Cluster (see `test_redis`).

mod admin_auth;
mod api_listener;
mod attribution;
mod browser_views;
mod campaigns;
mod cli;
mod cli_commands;
mod cli_run;
mod click_tallies;
mod clicks;
mod dashboard;
mod dashboard_download;
mod dashboard_views;
mod edge;
mod faults;
mod flush;
mod helpers;
mod hostile_orders;
mod influencers;
mod input_errors;
mod limits;
mod link_cache;
mod links;
mod links_index;
mod lists;
mod migrate;
mod migrate_command;
mod month_sketches;
mod openapi;
mod operations;
mod order_properties;
mod order_review;
mod orders_list;
mod pending_orders;
mod redirect;
mod redis_tls;
mod report_ranges;
mod reports;
mod roi;
mod scale_out;
mod serve;
mod serve_data_dir;
mod test_redis;
mod webhooks;
