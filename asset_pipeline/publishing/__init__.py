"""What the publish stage writes besides the files themselves: C2PA content credentials and the review gallery."""
