"""Why the two endpoints' pixels differ: numbers from the report → claims → one plain-language explanation."""
