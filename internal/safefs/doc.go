// Package safefs keeps a program's file access inside what it owns and
// away from files that are not files.
//
// A [Root] is a folder the program owns everything below: [Root.MkdirAll]
// creates folders under it and [Root.Check] looks at them, and both refuse
// a symbolic link (or anything but a folder) on the way from the root down,
// so that nothing is written or read through a link planted in the tree.
// The root folder itself may be a link: it is where the user put it.
//
// [Open] opens a regular file for reading and nothing else: a named pipe,
// a device or a socket in its place is refused before it is opened, and
// again after (the file is opened without blocking, then looked at), so
// that such a file can neither block the program nor be read as data.
//
// The checks look at what is on disk when they run. They catch links and
// special files put there before; one put in place between a check and the
// use that follows it is not caught (nothing short of opening every folder
// relative to its parent would).
package safefs
