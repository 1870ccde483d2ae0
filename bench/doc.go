// Package bench compares weightaudit's header readers with peer parsers on
// the same files, in the same run. It is a separate module so that the main
// module does not depend on the peers.
//
//	cd bench && go test -run '^$' -bench . -benchmem
package bench
