// Package redisconf is the one place the services that share limits
// through Redis (the edge's request rate limits and stream slots,
// inference's token quotas) read where Redis is: RAMPART_REDIS_URL (one
// server) or RAMPART_REDIS_CLUSTER_URL (a Redis Cluster's nodes, ADR 0086,
// 0095). Settings embeds in a service's config; RedisClient builds the
// go-redis client both callers use through redis.UniversalClient, so a
// service's Redis code runs unchanged on one server or a cluster as long as
// every multi-key script or transaction keeps its keys under one hash tag.
//
// Neither the settings' errors nor the client's construction errors quote
// the URLs: they may hold a password.
package redisconf
