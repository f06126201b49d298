module voice-gateway/bench/rtp-ear

go 1.24
