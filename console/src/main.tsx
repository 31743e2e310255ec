import { render } from 'preact';
import { App } from './app';
import { takeTokenFromFragment } from './session';
import './styles.css';

// Before anything renders: a sign-in link's token leaves the address bar at once.
takeTokenFromFragment();

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
