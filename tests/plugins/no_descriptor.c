/* A shared object that is not a plugin. */
int no_descriptor_here(void);
int
no_descriptor_here(void)
{
	return 1;
}
