//! Integration tests: the real server over real HTTP, against a real `redis-server` that each
//! test starts on its own Unix socket.

mod admin_auth;
mod attribution;
mod campaigns;
mod cli;
mod clicks;
mod dashboard;
mod faults;
mod helpers;
mod influencers;
mod links;
mod openapi;
mod operations;
mod redirect;
mod roi;
mod serve;
mod webhooks;
